import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * The two most used Node.js WeChat Pay libraries, dev dependencies of the benchmark only, driven
 * through their public entry points as their READMEs show. Both are CommonJS without (tenpay) or
 * with loose (wechatpay-axios-plugin) types, so the few members used are typed here.
 */

const require = createRequire(import.meta.url);

type Fields = Record<string, string | undefined>;

/** tenpay 2.x: `new tenpay(config)`; its Koa middleware parses, checks and verifies a notification. */
interface TenpayPayment {
  /** What every signing method of tenpay calls (public in JS; the underscore is only a convention). */
  _getSign(params: Fields, type?: 'MD5' | 'HMAC-SHA256'): string;
  middleware(type?: 'pay' | 'refund'): (ctx: TenpayKoaContext, next: () => Promise<void>) => Promise<void>;
}

interface TenpayKoaContext {
  request: { body: string; weixin?: Record<string, string> };
  type?: string;
  body?: string;
  reply?: (msg?: string) => void;
}

interface TenpayConstructor {
  new (config: { appid: string; mchid: string; partnerKey: string }): TenpayPayment;
}

interface AxiosPluginHash {
  sign(type: 'MD5' | 'HMAC-SHA256', data: object, key: string): string;
  equals(known: string, user?: string): boolean;
}

interface AxiosPluginModule {
  Hash: AxiosPluginHash;
  Transformer: { toObject(xml: string): Record<string, string> | undefined };
  Rsa: { verify(message: string, signature: string, publicKey: KeyObject): boolean };
  Aes: { AesGcm: { decrypt(ciphertext: string, key: Buffer | string, iv: string, aad?: string): string } };
}

export interface PeerVersions {
  tenpay: string;
  'wechatpay-axios-plugin': string;
}

export function peerVersions(): PeerVersions {
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return { tenpay: version('tenpay'), 'wechatpay-axios-plugin': version('wechatpay-axios-plugin') };
}

export interface Merchant {
  appid: string;
  mchid: string;
  apiKey: string;
}

/** tenpay's side of each case. */
export function tenpay(merchant: Merchant) {
  const Payment = require('tenpay') as TenpayConstructor;
  const payment = new Payment({ appid: merchant.appid, mchid: merchant.mchid, partnerKey: merchant.apiKey });
  const middleware = payment.middleware('pay');
  const next = async (): Promise<void> => {};
  return {
    sign: (params: Fields, type: 'MD5' | 'HMAC-SHA256') => payment._getSign(params, type),
    // tenpay compares with !==, not in constant time; that is how its response checks do it.
    verify: (signed: Fields, type: 'MD5' | 'HMAC-SHA256') => signed.sign === payment._getSign(signed, type),
    /** The notification as its Koa middleware takes it: true when it would reach the next handler. */
    async notification(xml: string): Promise<boolean> {
      const ctx: TenpayKoaContext = { request: { body: xml } };
      await middleware(ctx, next);
      return ctx.body === undefined && ctx.request.weixin?.out_trade_no !== undefined;
    },
  };
}

/** wechatpay-axios-plugin's side of each case (its v2 Hash/Transformer and v3 Rsa/Aes helpers). */
export function wechatpayAxiosPlugin(merchant: Merchant) {
  const { Hash, Transformer, Rsa, Aes } = require('wechatpay-axios-plugin') as AxiosPluginModule;
  const typeOf = (sign: string | undefined) => (sign?.length === 64 ? 'HMAC-SHA256' : 'MD5');
  return {
    sign: (params: Fields, type: 'MD5' | 'HMAC-SHA256') => Hash.sign(type, params, merchant.apiKey),
    verify: (signed: Fields) => Hash.equals(Hash.sign(typeOf(signed.sign), signed, merchant.apiKey), signed.sign),
    /** Parse, verify and read a v2 notification the way its README's Transformer + Hash recipe does. */
    notification(xml: string): boolean {
      const data = Transformer.toObject(xml);
      if (data === undefined) return false;
      if (!Hash.equals(Hash.sign(typeOf(data.sign), data, merchant.apiKey), data.sign)) return false;
      return data.return_code === 'SUCCESS' && data.result_code === 'SUCCESS' && typeof data.out_trade_no === 'string';
    },
    rsaVerify: (message: string, signature: string, publicKey: KeyObject) => Rsa.verify(message, signature, publicKey),
    aesGcmDecrypt: (ciphertext: string, key: Buffer, nonce: string, aad: string) =>
      Aes.AesGcm.decrypt(ciphertext, key, nonce, aad),
  };
}
