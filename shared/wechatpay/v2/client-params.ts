import type { AppClientParams, CashierInput, JsapiClientParams as JsapiParams } from '../core/client-params';
import { unsignedAppParams, unsignedJsapiParams } from '../core/client-params';
import { nonceSchema } from './requests';
import type { SignType } from './sign';
import { signV2 } from './sign';

/** The second signature: client parameters signed with the merchant key and the order's sign type. */

export type { AppClientParams };
export type JsapiClientParams = JsapiParams<SignType>;

interface ClientSignInput extends CashierInput {
  apiKey: string;
  /** The sign type the order was placed with (WeChat requires the same one). */
  signType: SignType;
}

function checkInput(input: ClientSignInput): void {
  if (!/^\d{1,12}$/.test(input.timestamp)) throw new RangeError('timestamp must be whole seconds as digits');
  if (!nonceSchema.safeParse(input.nonce).success) throw new RangeError('nonce must be 1-32 of 0-9 A-Z a-z _ -');
  if (input.prepayId === '') throw new RangeError('prepayId must not be empty');
}

export function appClientParams(input: ClientSignInput & { mchid: string }): AppClientParams {
  checkInput(input);
  const params = unsignedAppParams(input);
  return { ...params, sign: signV2(params, input.apiKey, input.signType) };
}

export function jsapiClientParams(input: ClientSignInput): JsapiClientParams {
  checkInput(input);
  const params = { ...unsignedJsapiParams(input), signType: input.signType };
  return { ...params, paySign: signV2(params, input.apiKey, input.signType) };
}
