import { describe, expect, it } from 'vitest';

import { httpStatusError } from '#shared/wechatpay/core/http-status';

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
    expect(httpStatusError(status)).toMatchObject({
      code: `HTTP_${status}`,
      retryable,
      kind: 'transport',
      httpStatus: status,
    });
  });
});
