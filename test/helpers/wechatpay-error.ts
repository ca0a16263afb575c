import { expect } from 'vitest';

import { WechatPayError } from '#shared/wechatpay/core/errors';

/** The WechatPayError `promise` rejects with; the test fails if it resolves or rejects with anything else. */
export async function wechatPayErrorOf(promise: Promise<unknown>): Promise<WechatPayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WechatPayError);
    return error as WechatPayError;
  }
  throw new Error('expected a WechatPayError');
}
