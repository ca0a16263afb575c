import type { SignType } from './sign';
import { signV2 } from './sign';

/**
 * The second signature: the parameters a client (APP SDK, JSAPI page, mini program) hands to WeChat
 * to open the cashier for a prepay_id, signed with the merchant key and the order's sign type.
 */

/** APP SDK PayReq; every key lower case, package fixed to Sign=WXPay. */
export interface AppClientParams {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: 'Sign=WXPay';
  noncestr: string;
  timestamp: string;
  sign: string;
  [key: string]: string;
}

/** WeixinJSBridge getBrandWCPayRequest / wx.requestPayment; signType is itself signed. */
export interface JsapiClientParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
  [key: string]: string;
}

export interface ClientSignInput {
  appid: string;
  prepayId: string;
  apiKey: string;
  /** The sign type the order was placed with (WeChat requires the same one). */
  signType: SignType;
  nonce: string;
  /** Seconds since the epoch, as text. */
  timestamp: string;
}

/** Seconds since the epoch as WeChat's clients want them: a string of digits. */
export function unixTimestamp(now: Date): string {
  return String(Math.floor(now.getTime() / 1000));
}

function checkInput(input: ClientSignInput): void {
  if (!/^\d{1,12}$/.test(input.timestamp)) throw new RangeError('timestamp must be whole seconds as digits');
  if (!/^[0-9A-Za-z_-]{1,32}$/.test(input.nonce)) throw new RangeError('nonce must be 1-32 of 0-9 A-Z a-z _ -');
  if (input.prepayId === '') throw new RangeError('prepayId must not be empty');
}

export function appClientParams(input: ClientSignInput & { mchid: string }): AppClientParams {
  checkInput(input);
  const params = {
    appid: input.appid,
    partnerid: input.mchid,
    prepayid: input.prepayId,
    package: 'Sign=WXPay' as const,
    noncestr: input.nonce,
    timestamp: input.timestamp,
  };
  return { ...params, sign: signV2(params, input.apiKey, input.signType) };
}

export function jsapiClientParams(input: ClientSignInput): JsapiClientParams {
  checkInput(input);
  const params = {
    appId: input.appid,
    timeStamp: input.timestamp,
    nonceStr: input.nonce,
    package: `prepay_id=${input.prepayId}`,
    signType: input.signType,
  };
  return { ...params, paySign: signV2(params, input.apiKey, input.signType) };
}
