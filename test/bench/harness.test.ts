import { describe, expect, it } from 'vitest';

import { bytesByPackage } from '../../bench/bundle';
import { isSuccessReply, runPool } from '../../bench/load';
import { measureOps } from '../../bench/measure';
import { outTradeNos, pendingOrder, runPrefix, transactionId } from '../../bench/seed-orders';
import { outTradeNoSchema } from '../../shared/wechatpay/v2/requests';

describe('measureOps', () => {
  it('turns calls per elapsed time into ops/s, per case, from an injected clock', async () => {
    let t = 0;
    const cost = { fast: 0.001, slow: 0.004 }; // ms per call
    const ops = await measureOps(
      [
        { name: 'fast', run: () => (t += cost.fast) },
        { name: 'slow', run: () => (t += cost.slow) },
      ],
      { rounds: 3, roundMs: 10, warmupMs: 1, now: () => t },
    );
    expect(ops.get('fast')).toBeCloseTo(1_000_000, -4);
    expect(ops.get('slow')).toBeCloseTo(250_000, -3);
  });

  it('awaits a case that returns a promise', async () => {
    let t = 0;
    let settled = 0;
    const ops = await measureOps([{ name: 'async', run: async () => ((t += 0.5), settled++) }], { rounds: 1, roundMs: 5, warmupMs: 1, now: () => t });
    expect(ops.get('async')).toBeCloseTo(2000, -1);
    expect(settled).toBeGreaterThan(10);
  });
});

describe('runPool', () => {
  it('does every item once and never has more than `concurrency` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await runPool(Array.from({ length: 25 }, (_, i) => i), 4, async (item) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      done.push(item);
      inFlight -= 1;
    });
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it('refuses a concurrency below one', async () => {
    await expect(runPool([1], 0, async () => {})).rejects.toThrow(RangeError);
  });
});

describe('notification replies', () => {
  it('takes only an HTTP 200 with return_code SUCCESS as delivered', () => {
    expect(isSuccessReply(200, '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>')).toBe(true);
    expect(isSuccessReply(200, '<xml><return_code>SUCCESS</return_code></xml>')).toBe(true);
    expect(isSuccessReply(200, '<xml><return_code><![CDATA[FAIL]]></return_code></xml>')).toBe(false);
    expect(isSuccessReply(500, '<xml><return_code>SUCCESS</return_code></xml>')).toBe(false);
  });
});

describe('seeded orders', () => {
  it('numbers orders with out_trade_nos WeChat accepts, all distinct', () => {
    const nos = outTradeNos(runPrefix('BN'), 2001);
    expect(new Set(nos).size).toBe(2001);
    for (const no of [nos[0], nos[2000]]) expect(outTradeNoSchema.safeParse(no).success).toBe(true);
  });

  it('makes a PENDING order as the orders Lambda leaves it: prepay held, first check due, history to PENDING', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const order = pendingOrder('BN1', now);
    expect(order.status).toBe('PENDING');
    expect(order.prepay?.prepayId).toMatch(/^wx/);
    expect(Date.parse(order.nextCheckAt ?? '')).toBeGreaterThan(now.getTime());
    expect(order.history.map((h) => h.to)).toEqual(['CREATED', 'PENDING']);
  });

  it('gives 28-digit transaction ids, distinct per index', () => {
    const ids = [transactionId(0), transactionId(1), transactionId(1999)];
    for (const id of ids) expect(id).toMatch(/^\d{28}$/);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('bytesByPackage', () => {
  it('adds up output bytes per npm package (scoped ones whole) and per source folder, largest first', () => {
    const grouped = bytesByPackage({
      'node_modules/zod/v4/core/schemas.js': { bytesInOutput: 100 },
      'node_modules/zod/v4/locales/he.js': { bytesInOutput: 50 },
      'node_modules/@aws-lambda-powertools/logger/lib/esm/Logger.js': { bytesInOutput: 30 },
      'shared/wechatpay/v2/xml.ts': { bytesInOutput: 20 },
      'shared/wechatpay/v3/aead.ts': { bytesInOutput: 5 },
    });
    expect(grouped).toEqual([
      { input: 'zod', bytes: 150 },
      { input: '@aws-lambda-powertools/logger', bytes: 30 },
      { input: 'shared/wechatpay', bytes: 25 },
    ]);
  });
});
