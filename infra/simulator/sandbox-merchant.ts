/** The merchant WeChat Pay knows: who may call the API and the key both sides sign with. */
export interface Merchant {
  appid: string;
  mchid: string;
  /** The APIv2 key (32 characters). Never logged. */
  apiKey: string;
}

/**
 * The merchant the simulator and the local stack share when no WECHATPAY_* settings are given, so
 * requests and notifications verify end to end out of the box. Fixed and public on purpose: it only
 * ever exists on this machine and WeChat Pay knows no such merchant.
 */
export const SANDBOX_MERCHANT: Readonly<Merchant> = Object.freeze({
  appid: 'wx00000000sandbox1',
  mchid: '1230000109',
  apiKey: 'simulatorSandboxApiKey0000000000',
});
