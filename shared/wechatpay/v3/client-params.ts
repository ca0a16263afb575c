import type { KeyObject } from 'node:crypto';
import type { AppClientParams, CashierInput, JsapiClientParams as JsapiParams } from '../core/client-params';
import { unsignedAppParams, unsignedJsapiParams } from '../core/client-params';
import { signSha256Rsa } from './sign';

/**
 * The parameters a client needs to open WeChat's cashier after a v3 prepay, signed again with the
 * merchant's RSA key (SHA256withRSA over newline-terminated lines, not v2's sorted k=v string).
 * WeChat's check of them is in testing/wechat-checks.ts.
 */

export type { AppClientParams };
export type JsapiClientParams = JsapiParams<'RSA'>;

export function jsapiSignMessage(p: Pick<JsapiClientParams, 'appId' | 'timeStamp' | 'nonceStr' | 'package'>): string {
  return `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;
}

export function appSignMessage(p: Pick<AppClientParams, 'appid' | 'timestamp' | 'noncestr' | 'prepayid'>): string {
  return `${p.appid}\n${p.timestamp}\n${p.noncestr}\n${p.prepayid}\n`;
}

export function jsapiClientParams(input: CashierInput & { privateKey: KeyObject }): JsapiClientParams {
  const unsigned = unsignedJsapiParams(input);
  return { ...unsigned, signType: 'RSA', paySign: signSha256Rsa(jsapiSignMessage(unsigned), input.privateKey) };
}

export function appClientParams(input: CashierInput & { mchid: string; privateKey: KeyObject }): AppClientParams {
  const unsigned = unsignedAppParams(input);
  return { ...unsigned, sign: signSha256Rsa(appSignMessage(unsigned), input.privateKey) };
}
