import { describe, expect, it } from 'vitest';

import { completeRequest, fingerprint, generateOutTradeNo, type NewPayment } from '#shared/domain/payment-request';

const base: NewPayment = {
  outTradeNo: '000123',
  description: 'coffee',
  amount: { total: 1, currency: 'CNY' },
  tradeType: 'NATIVE',
  productId: 'p1',
  payerClientIp: '127.0.0.1',
};

describe('payment request', () => {
  it('fingerprints content independently of key order', () => {
    const reordered: NewPayment = {
      payerClientIp: '127.0.0.1',
      productId: 'p1',
      tradeType: 'NATIVE',
      amount: { currency: 'CNY', total: 1 },
      description: 'coffee',
      outTradeNo: '000123',
    };
    expect(fingerprint({ ...reordered, outTradeNo: '000123' })).toBe(fingerprint({ ...base, outTradeNo: '000123' }));
  });

  it('tells different content apart', () => {
    const a = fingerprint({ ...base, outTradeNo: '000123' });
    expect(fingerprint({ ...base, amount: { total: 2, currency: 'CNY' }, outTradeNo: '000123' })).not.toBe(a);
    expect(fingerprint({ ...base, description: 'tea', outTradeNo: '000123' })).not.toBe(a);
    expect(fingerprint({ ...base, outTradeNo: '0000123' })).not.toBe(a);
  });

  it('generates out_trade_no within WeChat’s alphabet and length, unique', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const ids = new Set(Array.from({ length: 1000 }, () => generateOutTradeNo(now)));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9A-Za-z_\-|*]{6,32}$/);
  });

  it('defaults the expiry to the prepay life and keeps a given one', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(completeRequest(base, now, 7200).expiresAt).toBe('2026-01-01T02:00:00.000Z');
    expect(completeRequest({ ...base, expiresAt: '2026-01-01T00:10:00.000Z' }, now, 7200).expiresAt).toBe(
      '2026-01-01T00:10:00.000Z',
    );
    expect(completeRequest({ ...base, outTradeNo: undefined }, now, 7200).outTradeNo).toMatch(/^P2026/);
  });
});
