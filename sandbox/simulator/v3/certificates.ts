import { buildCertificatesAnswer } from '#shared/wechatpay/v3/testing/wechat-messages';
import type { V3Context } from './context';
import { answer } from './replies';
import type { V3Reply } from './replies';

/** GET /v3/certificates: the platform certificate, encrypted under the merchant's APIv3 key. */
export function platformCertificates(ctx: V3Context): V3Reply {
  return answer(buildCertificatesAnswer([{ pem: ctx.platform.certificatePem }], ctx.merchant.apiV3Key));
}
