import { describe, expect, it } from 'vitest';

import { isOutTradeNo, outTradeNoSchema } from '#shared/wechatpay/core/trade-ids';

describe('isOutTradeNo', () => {
  it.each([
    ['000123', true],
    ['A-b_c|d*e', true],
    ['x'.repeat(32), true],
    ['x'.repeat(33), false],
    ['', false],
    ['with space', false],
    ['中文', false],
    ['T1\n', false],
    ['T1@', false],
    [123, false],
    [undefined, false],
    [null, false],
    [{ toString: () => 'T1' }, false],
  ])('%j → %s, as outTradeNoSchema says', (value, expected) => {
    expect(isOutTradeNo(value)).toBe(expected);
    expect(outTradeNoSchema.safeParse(value).success).toBe(expected);
  });
});
