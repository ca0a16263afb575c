import type { KeyObject } from 'node:crypto';
import { signSha256Rsa, verifySha256Rsa } from './rsa';

/**
 * The parameters a client needs to open WeChat's cashier after a v3 prepay, signed again with the
 * merchant's RSA key (SHA256withRSA over newline-terminated lines, not v2's sorted k=v string).
 */

/** JSAPI / mini program (wx.requestPayment, WeixinJSBridge getBrandWCPayRequest). */
export type JsapiClientParams = {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
};

/** APP (OpenSDK PayReq). */
export type AppClientParams = {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: 'Sign=WXPay';
  noncestr: string;
  timestamp: string;
  sign: string;
};

export function jsapiSignMessage(p: Pick<JsapiClientParams, 'appId' | 'timeStamp' | 'nonceStr' | 'package'>): string {
  return `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;
}

export function appSignMessage(p: Pick<AppClientParams, 'appid' | 'timestamp' | 'noncestr' | 'prepayid'>): string {
  return `${p.appid}\n${p.timestamp}\n${p.noncestr}\n${p.prepayid}\n`;
}

export function jsapiClientParams(input: {
  appid: string;
  prepayId: string;
  privateKey: KeyObject;
  timestamp: string;
  nonce: string;
}): JsapiClientParams {
  const unsigned = {
    appId: input.appid,
    timeStamp: input.timestamp,
    nonceStr: input.nonce,
    package: `prepay_id=${input.prepayId}`,
  };
  return { ...unsigned, signType: 'RSA', paySign: signSha256Rsa(jsapiSignMessage(unsigned), input.privateKey) };
}

export function appClientParams(input: {
  appid: string;
  mchid: string;
  prepayId: string;
  privateKey: KeyObject;
  timestamp: string;
  nonce: string;
}): AppClientParams {
  const unsigned = {
    appid: input.appid,
    partnerid: input.mchid,
    prepayid: input.prepayId,
    package: 'Sign=WXPay' as const,
    noncestr: input.nonce,
    timestamp: input.timestamp,
  };
  return { ...unsigned, sign: signSha256Rsa(appSignMessage(unsigned), input.privateKey) };
}

/** What WeChat's client checks (the simulator's side, and tests). */
export function verifyJsapiClientParams(params: JsapiClientParams, merchantPublicKey: KeyObject): boolean {
  return params.signType === 'RSA' && verifySha256Rsa(jsapiSignMessage(params), params.paySign, merchantPublicKey);
}

export function verifyAppClientParams(params: AppClientParams, merchantPublicKey: KeyObject): boolean {
  return params.package === 'Sign=WXPay' && verifySha256Rsa(appSignMessage(params), params.sign, merchantPublicKey);
}
