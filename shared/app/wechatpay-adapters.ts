import type { MerchantCredentials } from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import type { Clock, Merchant, NotificationCodec, PaymentProvider, RawNotification } from '../domain/ports';
import { wechatCallDeadline } from './invocation-deadline';

export interface NotifyReply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A notification codec together with the answer its API version expects (v2 XML, v3 JSON). */
export interface NotifyCodec extends NotificationCodec {
  reply(ok: boolean, message: string): NotifyReply;
}

/** The merchant's WeChat Pay, whichever API version it speaks. */
export interface WechatPay {
  merchant: Merchant;
  provider: PaymentProvider;
  /**
   * The codec for one notification. A v3 notification carries Wechatpay-Signature; a merchant
   * migrating from v2 to v3 receives both kinds at the same endpoint while old orders finish.
   */
  codecFor(raw: RawNotification): NotifyCodec;
}

/**
 * Builds the WeChat Pay side from the merchant's credentials. Anything wrong with them (a key that is
 * not a key, a missing field) is the deployment's fault, never the caller's: a ConfigurationError.
 */
export async function createWechatPay(
  credentials: MerchantCredentials,
  settings: Settings,
  clock: Clock,
): Promise<WechatPay> {
  try {
    return await buildWechatPay(credentials, settings, clock);
  } catch (err) {
    if (err instanceof ConfigurationError) throw err;
    // Logged, never answered: the messages name fields and rules, never a key's value.
    const what = err instanceof Error ? err.message : String(err);
    throw new ConfigurationError(`the merchant's WeChat Pay credentials are unusable: ${what}`, { cause: err });
  }
}

/**
 * Each API version's code is imported on first use: a merchant runs one version (two while
 * migrating), and the sweep runs none, so the rest is never evaluated in that container.
 */
async function buildWechatPay(credentials: MerchantCredentials, settings: Settings, clock: Clock): Promise<WechatPay> {
  const merchant = { appid: credentials.appid, mchid: credentials.mchid };
  const v2Codec =
    credentials.apiKey === undefined
      ? undefined
      : new (await import('../adapters/wechatpay-v2-notification-codec')).WechatPayV2NotificationCodec({
          apiKey: credentials.apiKey,
        });
  let provider: PaymentProvider;
  let v3Codec: NotifyCodec | undefined;
  if (credentials.apiVersion === 'v3') {
    const { privateKey, certSerial, apiV3Key } = credentials;
    if (privateKey === undefined || certSerial === undefined || apiV3Key === undefined) {
      throw new ConfigurationError('v3 needs privateKey, certSerial and apiV3Key');
    }
    const [{ WechatPayV3Client }, { WechatPayV3Provider }, { WechatPayV3NotificationCodec }] = await Promise.all([
      import('../wechatpay/v3/client'),
      import('../adapters/wechatpay-v3-provider'),
      import('../adapters/wechatpay-v3-notification-codec'),
    ]);
    const client = new WechatPayV3Client({
      baseUrl: settings.WECHATPAY_BASE_URL,
      appid: credentials.appid,
      mchid: credentials.mchid,
      privateKey,
      certSerial,
      apiV3Key,
      publicKey: credentials.publicKey,
      publicKeyId: credentials.publicKeyId,
      clock,
      deadline: wechatCallDeadline,
    });
    provider = new WechatPayV3Provider(client);
    v3Codec = new WechatPayV3NotificationCodec({ apiV3Key, keys: client.keys, clock });
  } else {
    if (credentials.apiKey === undefined) throw new ConfigurationError('v2 needs apiKey');
    const { WechatPayV2Provider } = await import('../adapters/wechatpay-v2-provider');
    provider = new WechatPayV2Provider({
      baseUrl: settings.WECHATPAY_BASE_URL,
      appid: credentials.appid,
      mchid: credentials.mchid,
      apiKey: credentials.apiKey,
      clock,
      deadline: wechatCallDeadline,
    });
  }
  const fallback = (v3Codec ?? v2Codec) as NotifyCodec;
  return {
    merchant,
    provider,
    codecFor(raw) {
      if (raw.headers['wechatpay-signature'] !== undefined) return v3Codec ?? fallback;
      return v2Codec ?? fallback;
    },
  };
}
