import { describe, expect, it } from 'vitest';
import { toWechatTime } from '#shared/wechatpay/v3/time';

describe('v3 time format', () => {
  it('writes instants as RFC 3339 in Beijing time, without fractions', () => {
    expect(toWechatTime('2024-01-01T00:00:00.789Z')).toBe('2024-01-01T08:00:00+08:00');
    expect(toWechatTime('2018-06-08T10:34:56+08:00')).toBe('2018-06-08T10:34:56+08:00');
    expect(toWechatTime(new Date('2023-12-31T20:00:00-04:00'))).toBe('2024-01-01T08:00:00+08:00');
    expect(() => toWechatTime('tomorrow')).toThrow(RangeError);
  });
});
