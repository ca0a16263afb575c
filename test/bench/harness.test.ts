import { describe, expect, it } from 'vitest';

import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

import { bytesByPackage, stackBundleOptions } from '#bench/bundle';
import { isSuccessReply, type Posted, timeRequests } from '#bench/load';
import { measureOps } from '#bench/measure';
import {
  createOrderBody,
  outTradeNos,
  paidNotification,
  pendingOrder,
  runPrefix,
  SEED_AMOUNT_FEN,
  transactionId,
} from '#bench/seed-orders';
import { PAYMENT_BUNDLING } from '#infra/cdk/payment-function';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { parseCreateOrder } from '#shared/app/create-order-schema';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { outTradeNoSchema } from '#shared/wechatpay/core/trade-ids';
import { parseXml } from '#shared/wechatpay/v2/xml';

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
    const ops = await measureOps([{ name: 'async', run: async () => ((t += 0.5), settled++) }], {
      rounds: 1,
      roundMs: 5,
      warmupMs: 1,
      now: () => t,
    });
    expect(ops.get('async')).toBeCloseTo(2000, -1);
    expect(settled).toBeGreaterThan(10);
  });
});

describe('timeRequests', () => {
  it('keeps each answer’s latency, counts the answers refused and times the whole run', async () => {
    let t = 1000;
    const answer = (status: number, ms: number): Posted => ({ status, text: '', ms });
    const run = await timeRequests(
      [201, 500, 201],
      1,
      async (status) => {
        t += 4;
        return answer(status, 4);
      },
      (a) => a.status === 201,
      () => t,
    );
    expect(run).toEqual({ latencies: [4, 4, 4], failures: 1, seconds: 0.012 });
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

describe('bench orders', () => {
  it('asks POST /orders for what its own schema accepts, NATIVE with a product and JSAPI with a payer', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const native = parseCreateOrder(createOrderBody('BL0001'), now);
    expect(native).toMatchObject({
      outTradeNo: 'BL0001',
      tradeType: 'NATIVE',
      productId: 'sku-bench',
      amount: { total: SEED_AMOUNT_FEN },
    });
    expect(parseCreateOrder(createOrderBody('BL0002', 'JSAPI'), now)).toMatchObject({
      tradeType: 'JSAPI',
      payerOpenid: expect.stringMatching(/./),
    });
  });

  it('signs a paid notification with the merchant’s key, for the order’s amount, trade type and payer', () => {
    const payer = parseCreateOrder(createOrderBody('BL0002', 'JSAPI'), new Date()).payerOpenid;
    const fields = parseXml(paidNotification(SANDBOX_MERCHANT, 'BL0002', 7, 'JSAPI'));
    expect(verifyV2(fields, SANDBOX_MERCHANT.apiKey)).toBe(true);
    expect(fields).toMatchObject({
      out_trade_no: 'BL0002',
      trade_type: 'JSAPI',
      total_fee: String(SEED_AMOUNT_FEN),
      openid: payer,
      appid: SANDBOX_MERCHANT.appid,
      mch_id: SANDBOX_MERCHANT.mchid,
    });
    expect(fields.sign).toMatch(/^[0-9A-F]{32}$/);
  });
});

describe('stackBundleOptions', () => {
  it('bundles with the stack’s own options, in esbuild’s names, leaving the runtime’s SDK out only as deployed', () => {
    const options = stackBundleOptions('runtime-sdk');
    expect(options).toMatchObject({
      bundle: true,
      platform: 'node',
      target: PAYMENT_BUNDLING.target,
      format: PAYMENT_BUNDLING.format === OutputFormat.ESM ? 'esm' : 'cjs',
      minify: PAYMENT_BUNDLING.minify,
      sourcemap: PAYMENT_BUNDLING.sourceMap,
      sourcesContent: PAYMENT_BUNDLING.sourcesContent,
      mainFields: PAYMENT_BUNDLING.mainFields,
      banner: { js: PAYMENT_BUNDLING.banner },
      logLevel: PAYMENT_BUNDLING.logLevel,
      external: ['@aws-sdk/*', '@smithy/*'],
    });
    expect(stackBundleOptions('bundled-sdk').external).toEqual([]);
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
