import { describe, expect, it } from 'vitest';

import { createOrderBodySchema, parseCreateOrder, parseOutTradeNo } from '#shared/app/create-order-schema';
import { ValidationError } from '#shared/domain/errors';
import { isClientIp } from '#shared/wechatpay/core/client-ip';

const now = new Date('2026-01-01T00:00:00Z');
const valid = {
  out_trade_no: '000123',
  description: 'coffee',
  amount: { total: 1 },
  trade_type: 'NATIVE',
  product_id: 'p1',
  scene_info: { payer_client_ip: '203.0.113.7' },
};

function fieldOf(body: unknown): string | undefined {
  try {
    parseCreateOrder(body, now);
  } catch (err) {
    if (err instanceof ValidationError) return err.field ?? '(none)';
    throw err;
  }
  return undefined;
}

describe('POST /orders body', () => {
  it('accepts a valid NATIVE order and keeps out_trade_no as a string', () => {
    const p = parseCreateOrder(valid, now);
    expect(p).toMatchObject({
      outTradeNo: '000123',
      amount: { total: 1, currency: 'CNY' },
      tradeType: 'NATIVE',
      productId: 'p1',
    });
  });

  it.each([
    [{ ...valid, description: '' }, 'description'],
    [{ ...valid, description: 'x'.repeat(129) }, 'description'],
    [{ ...valid, amount: { total: 0 } }, 'amount.total'],
    [{ ...valid, amount: { total: 1.5 } }, 'amount.total'],
    [{ ...valid, amount: { total: '100' } }, 'amount.total'],
    [{ ...valid, amount: { total: 1, currency: 'USD' } }, 'amount.currency'],
    [{ ...valid, trade_type: 'MICROPAY' }, 'trade_type'],
    [{ ...valid, product_id: undefined }, 'product_id'],
    [{ ...valid, trade_type: 'JSAPI' }, 'payer.openid'],
    [{ ...valid, trade_type: 'MWEB' }, 'scene_info.h5_info'],
    [{ ...valid, scene_info: { payer_client_ip: '999.1.1.1' } }, 'scene_info.payer_client_ip'],
    [{ ...valid, out_trade_no: 'abc' }, 'out_trade_no'],
    [{ ...valid, out_trade_no: 'has space 123' }, 'out_trade_no'],
    [{ ...valid, out_trade_no: 'x'.repeat(33) }, 'out_trade_no'],
    [{ ...valid, attach: 'a'.repeat(128) }, 'attach'],
    // Held to the strictest of v2 and v3, so WeChat never refuses an order after it is stored.
    [{ ...valid, description: 'x'.repeat(128) }, 'description'],
    [{ ...valid, description: '咖啡'.repeat(22) }, 'description'],
    [{ ...valid, description: 'line\nbreak' }, 'description'],
    [{ ...valid, description: 'lone \uD800 surrogate' }, 'description'],
    [{ ...valid, attach: '附'.repeat(43) }, 'attach'],
    [{ ...valid, attach: '' }, 'attach'],
    [
      {
        ...valid,
        trade_type: 'MWEB',
        scene_info: { payer_client_ip: '203.0.113.7', h5_info: { type: 'Wap', app_name: '店'.repeat(22) } },
      },
      'scene_info.h5_info.app_name',
    ],
    [
      {
        ...valid,
        trade_type: 'MWEB',
        scene_info: { payer_client_ip: '203.0.113.7', h5_info: { type: 'Wap', app_name: '' } },
      },
      'scene_info.h5_info.app_name',
    ],
    [{ ...valid, trade_type: 'JSAPI', payer: { openid: 'öpenid' } }, 'payer.openid'],
    [
      {
        ...valid,
        trade_type: 'MWEB',
        scene_info: {
          payer_client_ip: '203.0.113.7',
          h5_info: { type: 'Wap', app_name: 'shop', app_url: `https://shop.example.com/${'p'.repeat(220)}` },
        },
      },
      'scene_info.h5_info',
    ],
    [{ ...valid, time_expire: 'tomorrow' }, 'time_expire'],
    [{ ...valid, time_expire: '2026-01-01T08:00:30+08:00' }, 'time_expire'],
    // Beyond WeChat's seven days.
    [{ ...valid, time_expire: '2026-01-08T00:00:01Z' }, 'time_expire'],
    // What node:net took for an address and WeChat's validator does not (a zone id): once a 201-bound
    // order that WeChat then refused, burning its out_trade_no.
    [{ ...valid, scene_info: { payer_client_ip: 'fe80::1%eth0' } }, 'scene_info.payer_client_ip'],
    [{ ...valid, extra: 1 }, 'extra'],
    [{ ...valid, amount: { total: 1, cents: 2 } }, 'amount.cents'],
  ])('refuses %j naming the field', (body, field) => {
    expect(fieldOf(body)).toBe(field);
  });

  it('accepts the longest description both versions take: 127 characters and 127 bytes in UTF-8', () => {
    expect(fieldOf({ ...valid, description: 'x'.repeat(127) })).toBeUndefined();
    expect(fieldOf({ ...valid, description: `${'咖啡'.repeat(21)}x` })).toBeUndefined();
    expect(fieldOf({ ...valid, description: `${'咖啡'.repeat(21)}xx` })).toBe('description');
  });

  it('accepts an RFC 3339 expiry at least a minute ahead, in any offset', () => {
    const p = parseCreateOrder({ ...valid, time_expire: '2026-01-01T08:05:00+08:00' }, now);
    expect(p.expiresAt).toBe('2026-01-01T00:05:00.000Z');
  });

  it('accepts an expiry up to seven days ahead, WeChat’s limit, and says so beyond it', () => {
    expect(parseCreateOrder({ ...valid, time_expire: '2026-01-08T00:00:00Z' }, now).expiresAt).toBe(
      '2026-01-08T00:00:00.000Z',
    );
    expect(() => parseCreateOrder({ ...valid, time_expire: '2026-01-08T00:00:01Z' }, now)).toThrow(
      /time_expire must be at most 7 days ahead/,
    );
  });

  it('holds payer_client_ip to the WeChat client’s own rule (one validator)', () => {
    for (const ip of ['203.0.113.7', '2001:db8::1', '::ffff:192.0.2.128']) {
      expect(fieldOf({ ...valid, scene_info: { payer_client_ip: ip } })).toBeUndefined();
      expect(isClientIp(ip)).toBe(true);
    }
    for (const ip of ['fe80::1%eth0', '01.2.3.4', '', 'localhost']) {
      expect(fieldOf({ ...valid, scene_info: { payer_client_ip: ip } })).toBe('scene_info.payer_client_ip');
      expect(isClientIp(ip)).toBe(false);
    }
  });

  it('checks path out_trade_no', () => {
    expect(parseOutTradeNo('000123')).toBe('000123');
    expect(() => parseOutTradeNo('../etc')).toThrow(ValidationError);
    expect(() => parseOutTradeNo(undefined)).toThrow(new ValidationError('out_trade_no is required', 'out_trade_no'));
  });

  it("checks path out_trade_no with the body's out_trade_no rule", () => {
    for (const value of ['12345', 'a'.repeat(33), 'with space', 'Ab_-|*9', 'a'.repeat(32), '订单123456']) {
      const body = createOrderBodySchema.shape.out_trade_no.safeParse(value);
      let path: string | undefined;
      try {
        path = parseOutTradeNo(value);
      } catch (error) {
        expect(error).toEqual(
          new ValidationError('out_trade_no must be 6–32 characters of 0-9 A-Z a-z _ - | *', 'out_trade_no'),
        );
      }
      expect(path, value).toBe(body.success ? value : undefined);
    }
  });
});
