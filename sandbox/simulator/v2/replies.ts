import { signV2 } from '#shared/wechatpay/v2/sign';
import type { SignType } from '#shared/wechatpay/v2/sign';
import { toXml } from '#shared/wechatpay/v2/xml';
import { nonce } from '../ids';
import type { Merchant } from '../sandbox-merchant';

export type Fields = Record<string, string | undefined>;

/**
 * A v2 answer before it is encoded. return_code FAIL is WeChat saying "I could not take your request"
 * (unsigned: WeChat cannot vouch for who asked); return_code SUCCESS carries the business result,
 * signed with the merchant's key in the request's sign type.
 */
export type V2Reply = { returnCode: 'FAIL'; returnMsg: string } | { returnCode: 'SUCCESS'; fields: Fields };

export function transportFailure(returnMsg: string): V2Reply {
  return { returnCode: 'FAIL', returnMsg };
}

export function businessSuccess(fields: Fields): V2Reply {
  return { returnCode: 'SUCCESS', fields: { result_code: 'SUCCESS', ...fields } };
}

export function businessError(errCode: string, description: string): V2Reply {
  return { returnCode: 'SUCCESS', fields: { result_code: 'FAIL', err_code: errCode, err_code_des: description } };
}

export function renderReply(reply: V2Reply, merchant: Merchant, signType: SignType): string {
  if (reply.returnCode === 'FAIL') return toXml({ return_code: 'FAIL', return_msg: reply.returnMsg });
  const fields: Fields = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: merchant.appid,
    mch_id: merchant.mchid,
    nonce_str: nonce(),
    ...reply.fields,
  };
  return toXml({ ...fields, sign: signV2(fields, merchant.apiKey, signType) });
}
