import { describe, expect, it } from 'vitest';

import { fenToYuan } from '#shared/wechatpay/core/money';

describe('fenToYuan', () => {
  it('writes fen as yuan with two decimals, exactly', () => {
    expect([0, 1, 10, 99, 100, 1999, 100000, 123456789].map(fenToYuan)).toEqual([
      '0.00',
      '0.01',
      '0.10',
      '0.99',
      '1.00',
      '19.99',
      '1000.00',
      '1234567.89',
    ]);
  });

  it('keeps the sign of a negative amount in front, below one yuan too', () => {
    expect([-2, -100, -1999].map(fenToYuan)).toEqual(['-0.02', '-1.00', '-19.99']);
  });

  it('is exact up to the largest safe integer, where a float would round', () => {
    expect(fenToYuan(Number.MAX_SAFE_INTEGER)).toBe('90071992547409.91');
  });

  it.each([0.5, 1.005, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'refuses %s, which is not a whole number of fen',
    (fen) => {
      expect(() => fenToYuan(fen)).toThrow(RangeError);
    },
  );
});
