/**
 * The parameters a client (APP SDK, JSAPI page, mini program) hands to WeChat to open the cashier
 * for a prepay_id. Their names and values are the same in v2 and v3; only the signature differs
 * (v2 signs the sorted k=v string with the merchant key, v3 newline-terminated lines with RSA).
 */

/** APP SDK PayReq (OpenSDK); every key lower case, package fixed to Sign=WXPay. */
export type AppClientParams = {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: 'Sign=WXPay';
  noncestr: string;
  timestamp: string;
  sign: string;
};

/** WeixinJSBridge getBrandWCPayRequest / wx.requestPayment; signType is itself signed in v2. */
export type JsapiClientParams<SignType extends string> = {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
};

export interface CashierInput {
  appid: string;
  prepayId: string;
  nonce: string;
  /** Seconds since the epoch, as text. */
  timestamp: string;
}

export function unsignedAppParams(input: CashierInput & { mchid: string }): Omit<AppClientParams, 'sign'> {
  return {
    appid: input.appid,
    partnerid: input.mchid,
    prepayid: input.prepayId,
    package: 'Sign=WXPay',
    noncestr: input.nonce,
    timestamp: input.timestamp,
  };
}

export function unsignedJsapiParams(input: CashierInput): Omit<JsapiClientParams<string>, 'signType' | 'paySign'> {
  return {
    appId: input.appid,
    timeStamp: input.timestamp,
    nonceStr: input.nonce,
    package: `prepay_id=${input.prepayId}`,
  };
}
