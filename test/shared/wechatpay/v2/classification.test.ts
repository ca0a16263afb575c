import { describe, expect, it } from 'vitest';

import { ProviderError } from '#shared/domain/errors';
import {
  FINAL_ERR_CODES,
  RETRYABLE_ERR_CODES,
  businessError,
  httpStatusError,
  returnFailError,
} from '#shared/wechatpay/v2/classification';
import { fullJitterDelay, withRetries } from '#shared/wechatpay/v2/retry';

describe('err_code classification', () => {
  it.each(['SYSTEMERROR', 'BANKERROR', 'USERPAYING', 'BIZERR_NEED_RETRY', 'FREQUENCY_LIMITED'])(
    '%s is retryable',
    (code) => {
      expect(businessError(code, 'd')).toMatchObject({ code, retryable: true, kind: 'business' });
    },
  );

  it.each([
    'ORDERPAID',
    'ORDERCLOSED',
    'OUT_TRADE_NO_USED',
    'INVALID_REQUEST',
    'NOAUTH',
    'NOTENOUGH',
    'APPID_MCHID_NOT_MATCH',
    'MCHID_NOT_EXIST',
    'APPID_NOT_EXIST',
    'LACK_PARAMS',
    'SIGNERROR',
    'XML_FORMAT_ERROR',
    'REQUIRE_POST_METHOD',
    'POST_DATA_EMPTY',
    'NOT_UTF8',
    'INVALID_TRANSACTIONID',
    'PARAM_ERROR',
    'ORDERNOTEXIST',
  ])('%s is final', (code) => {
    expect(FINAL_ERR_CODES.has(code)).toBe(true);
    expect(businessError(code, undefined)).toMatchObject({ code, retryable: false, kind: 'business' });
  });

  it('the two sets do not overlap', () => {
    for (const code of RETRYABLE_ERR_CODES) expect(FINAL_ERR_CODES.has(code)).toBe(false);
  });

  it('treats an unknown or missing err_code as final', () => {
    expect(businessError('BRAND_NEW', undefined)).toMatchObject({ code: 'BRAND_NEW', retryable: false });
    expect(businessError(undefined, undefined)).toMatchObject({ code: 'UNKNOWN_ERROR', retryable: false });
  });

  it('is a ProviderError carrying WeChat’s description', () => {
    const err = businessError('NOTENOUGH', '余额不足');
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('余额不足');
  });
});

describe('return_code FAIL classification', () => {
  it.each<[string | undefined, string, boolean]>([
    ['签名错误', 'SIGNERROR', false],
    ['sign error', 'SIGNERROR', false],
    ['XML格式错误', 'XML_FORMAT_ERROR', false],
    ['参数格式校验错误', 'RETURN_FAIL', false],
    ['mch_id参数格式错误', 'RETURN_FAIL', false],
    ['系统繁忙,请稍后再试.', 'SYSTEMERROR', true],
    [undefined, 'RETURN_FAIL', false],
  ])('%s → %s (retryable %s)', (msg, code, retryable) => {
    expect(returnFailError(msg)).toMatchObject({ code, retryable, kind: 'business' });
  });
});

describe('HTTP status classification', () => {
  it.each<[number, boolean]>([
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [429, true],
    [408, true],
    [400, false],
    [403, false],
    [404, false],
  ])('%s retryable: %s', (status, retryable) => {
    expect(httpStatusError(status)).toMatchObject({ code: `HTTP_${status}`, retryable, kind: 'transport' });
  });
});

describe('retries', () => {
  it('full jitter stays within [0, min(cap, base·2^n))', () => {
    expect(fullJitterDelay(0, () => 0)).toBe(0);
    expect(fullJitterDelay(0, () => 0.999999)).toBe(99);
    expect(fullJitterDelay(3, () => 0.5)).toBe(400);
    expect(fullJitterDelay(20, () => 0.999999)).toBe(1999);
  });

  it('stops at the first success', async () => {
    let calls = 0;
    const result = await withRetries(
      async (n) => {
        calls += 1;
        if (n < 2) throw new Error('transient');
        return 'done';
      },
      { maxAttempts: 5, sleep: async () => {}, isRetryable: () => true },
    );
    expect(result).toBe('done');
    expect(calls).toBe(2);
  });

  it('does not retry what is not retryable', async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw new Error('final');
        },
        { maxAttempts: 5, sleep: async () => {}, isRetryable: () => false },
      ),
    ).rejects.toThrow('final');
    expect(calls).toBe(1);
  });

  it('passes the computed waits to sleep', async () => {
    const waits: number[] = [];
    await expect(
      withRetries(
        async () => {
          throw new Error('x');
        },
        { maxAttempts: 4, sleep: async (ms) => void waits.push(ms), isRetryable: () => true, random: () => 0.5 },
      ),
    ).rejects.toThrow('x');
    expect(waits).toEqual([50, 100, 200]);
  });
});
