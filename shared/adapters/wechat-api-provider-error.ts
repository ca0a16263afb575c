import { ProviderError } from '../domain/errors';

/**
 * A failure of WeChat's own API (api.weixin.qq.com: the mini program login), not of WeChat Pay's:
 * the same 502 and `retryable` as a WeChat Pay call's, but told as WeChat's, so whoever reads it
 * looks at the right service.
 */
export class WechatApiProviderError extends ProviderError {}

/** A ProviderError of the WeChat Pay mapping, relabelled as WeChat's API. */
export function asWechatApiError(error: ProviderError): WechatApiProviderError {
  return new WechatApiProviderError(error.code, error.message, {
    retryable: error.retryable,
    kind: error.kind,
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    ...(error.rawCode === undefined ? {} : { rawCode: error.rawCode }),
    cause: error.cause,
  });
}
