import { describe, expect, it } from 'vitest';

import { fromWechatTime, toWechatTime } from '#shared/wechatpay/v2/time';

describe('WeChat v2 times (yyyyMMddHHmmss, Beijing time)', () => {
  it('writes an instant in UTC+8', () => {
    expect(toWechatTime('2009-12-27T01:10:10Z')).toBe('20091227091010');
    expect(toWechatTime(new Date('2026-11-25T12:00:00+08:00'))).toBe('20261125120000');
  });

  it('crosses midnight, month and year ends in Beijing, not in UTC', () => {
    expect(toWechatTime('2025-12-31T16:00:00Z')).toBe('20260101000000');
    expect(toWechatTime('2025-12-31T15:59:59.999Z')).toBe('20251231235959');
    expect(toWechatTime('2024-02-28T16:30:00Z')).toBe('20240229003000');
  });

  it('refuses an invalid instant', () => {
    expect(() => toWechatTime('not a date')).toThrow(RangeError);
    expect(() => toWechatTime(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('reads a WeChat time back to the instant', () => {
    expect(fromWechatTime('20140903131540')?.toISOString()).toBe('2014-09-03T05:15:40.000Z');
    expect(fromWechatTime('20260101000000')?.toISOString()).toBe('2025-12-31T16:00:00.000Z');
  });

  it.each([
    '2014090313154',
    '201409031315400',
    '2014-09-03 13:15',
    '20140230120000',
    '20141301120000',
    '20140903246000',
    'abcdefghijklmn',
  ])('refuses %s', (text) => {
    expect(fromWechatTime(text)).toBeUndefined();
  });
});
