import {
  apiClientCertificateOf,
  type ApiClientCertificate,
  type MerchantCredentials,
} from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import type { Clock, Merchant, NotificationCodec, PaymentProvider, RawNotification } from '../domain/ports';
import type { RefundNotificationCodec, RefundProvider } from '../domain/refund-ports';
import type { BillDownload } from '../wechatpay/bills/bill-download';
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

/** A refund notification codec together with its API version's answer (the same forms as payments'). */
export interface RefundNotifyCodec extends RefundNotificationCodec {
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
  /**
   * Refunds at WeChat. A v2 merchant without an API client certificate can query refunds but not
   * make them: submitRefund is a ConfigurationError (see `refundsUnavailable`).
   */
  refunds: RefundProvider;
  /** Why refunds cannot be made with these credentials (a v2 merchant without its certificate), if so. */
  refundsUnavailable?: string;
  /** The codec for one refund notification: v3 when it carries Wechatpay-Signature, else v2. */
  refundCodecFor(raw: RawNotification): RefundNotifyCodec;
  /**
   * The merchant's ALL trade bill of a Beijing day (`YYYY-MM-DD`), as the API version downloads it (v2
   * downloadbill, v3 tradebill and its signed download): the bytes streamed, never held whole.
   */
  downloadBill(billDate: string): Promise<BillDownload>;
}

/** Why a v2 merchant without its API client certificate cannot refund: said to operators, never to callers. */
export const NO_CLIENT_CERTIFICATE =
  'v2 refunds need the API client certificate (apiclient_cert): set apiClientCert + apiClientKey, ' +
  'or apiClientP12, in the merchant secret (WECHATPAY_API_CLIENT_CERT and WECHATPAY_API_CLIENT_KEY locally)';

/**
 * Builds the WeChat Pay side from the merchant's credentials. Anything wrong with them (a key that is
 * not a key, a missing field, a client certificate and key that are not a pair) is the deployment's
 * fault, never the caller's: a ConfigurationError.
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
  const clientCertificate = await checkedClientCertificate(credentials);
  // Only the simulator needs a CA of its own; against WeChat the system's CAs are used alone.
  const transport = {
    baseUrl: settings.WECHATPAY_BASE_URL,
    ...(settings.WECHATPAY_TRUSTED_CA === undefined ? {} : { trustedCaPem: settings.WECHATPAY_TRUSTED_CA }),
    deadline: wechatCallDeadline,
  };
  let v2Codec: NotifyCodec | undefined;
  let v2RefundCodec: RefundNotifyCodec | undefined;
  if (credentials.apiKey !== undefined) {
    const [{ WechatPayV2NotificationCodec }, { WechatPayV2RefundNotificationCodec }] = await Promise.all([
      import('../adapters/wechatpay-v2-notification-codec'),
      import('../adapters/wechatpay-v2-refund-notification-codec'),
    ]);
    v2Codec = new WechatPayV2NotificationCodec({ apiKey: credentials.apiKey });
    v2RefundCodec = new WechatPayV2RefundNotificationCodec({ apiKey: credentials.apiKey });
  }
  let provider: PaymentProvider;
  let refunds: RefundProvider;
  let refundsUnavailable: string | undefined;
  let v3Codec: NotifyCodec | undefined;
  let v3RefundCodec: RefundNotifyCodec | undefined;
  let downloadBill: (billDate: string) => Promise<BillDownload>;
  if (credentials.apiVersion === 'v3') {
    const { privateKey, certSerial, apiV3Key } = credentials;
    if (privateKey === undefined || certSerial === undefined || apiV3Key === undefined) {
      throw new ConfigurationError('v3 needs privateKey, certSerial and apiV3Key');
    }
    const [
      { WechatPayV3Client },
      { WechatPayV3Provider },
      { WechatPayV3NotificationCodec },
      { WechatPayV3Refunds },
      { WechatPayV3RefundNotificationCodec },
    ] = await Promise.all([
      import('../wechatpay/v3/client'),
      import('../adapters/wechatpay-v3-provider'),
      import('../adapters/wechatpay-v3-notification-codec'),
      import('../adapters/wechatpay-v3-refunds'),
      import('../adapters/wechatpay-v3-refund-notification-codec'),
    ]);
    const client = new WechatPayV3Client({
      ...transport,
      appid: credentials.appid,
      mchid: credentials.mchid,
      privateKey,
      certSerial,
      apiV3Key,
      publicKey: credentials.publicKey,
      publicKeyId: credentials.publicKeyId,
      clock,
    });
    provider = new WechatPayV3Provider(client);
    downloadBill = (billDate) => client.downloadTradeBill(billDate);
    // v3 refunds are signed like every v3 call: no client certificate.
    refunds = new WechatPayV3Refunds(client);
    v3Codec = new WechatPayV3NotificationCodec({ apiV3Key, keys: client.keys, clock });
    v3RefundCodec = new WechatPayV3RefundNotificationCodec({ apiV3Key, keys: client.keys, clock });
  } else {
    if (credentials.apiKey === undefined) throw new ConfigurationError('v2 needs apiKey');
    const v2Options = { ...transport, appid: credentials.appid, mchid: credentials.mchid, apiKey: credentials.apiKey };
    const { WechatPayV2Provider } = await import('../adapters/wechatpay-v2-provider');
    const v2Provider = new WechatPayV2Provider({ ...v2Options, clock });
    provider = v2Provider;
    downloadBill = (billDate) => v2Provider.client.downloadBill(billDate);
    // Without a certificate only submitRefund is refused: refundquery needs none, so refunds already
    // made (or made before the certificate went missing) can still be finished.
    const { WechatPayV2Refunds } = await import('../adapters/wechatpay-v2-refunds');
    if (clientCertificate === undefined) refundsUnavailable = NO_CLIENT_CERTIFICATE;
    refunds = new WechatPayV2Refunds({
      ...v2Options,
      ...(clientCertificate === undefined ? { noCertificateMessage: NO_CLIENT_CERTIFICATE } : { clientCertificate }),
    });
  }
  const fallback = (v3Codec ?? v2Codec) as NotifyCodec;
  const refundFallback = (v3RefundCodec ?? v2RefundCodec) as RefundNotifyCodec;
  const signed = (raw: RawNotification) => raw.headers['wechatpay-signature'] !== undefined;
  return {
    merchant,
    provider,
    codecFor: (raw) => (signed(raw) ? (v3Codec ?? fallback) : (v2Codec ?? fallback)),
    refunds,
    ...(refundsUnavailable === undefined ? {} : { refundsUnavailable }),
    refundCodecFor: (raw) => (signed(raw) ? (v3RefundCodec ?? refundFallback) : (v2RefundCodec ?? refundFallback)),
    downloadBill,
  };
}

/**
 * The merchant's API client certificate, proven usable before anything is built: a certificate and key
 * swapped or of two different pairs, a p12 that is not one or a wrong password would otherwise show
 * only as a TLS failure at the first refund. The error names the fields and the fault, never a value.
 */
async function checkedClientCertificate(credentials: MerchantCredentials): Promise<ApiClientCertificate | undefined> {
  const certificate = apiClientCertificateOf(credentials);
  if (certificate === undefined) return undefined;
  const { checkClientCertificate } = await import('../wechatpay/core/client-certificate');
  try {
    checkClientCertificate(certificate);
  } catch (error) {
    const blamed = error instanceof Error && 'field' in error ? String(error.field).split('.').pop() : undefined;
    const field =
      SECRET_FIELD_OF[blamed ?? ''] ?? ('p12' in certificate ? 'apiClientP12' : 'apiClientCert / apiClientKey');
    const what = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(`${field}: ${what}`, { cause: error });
  }
  return certificate;
}

/** The library's name for each part of a client certificate → the merchant secret's field. */
const SECRET_FIELD_OF: Readonly<Record<string, string>> = {
  certPem: 'apiClientCert',
  keyPem: 'apiClientKey',
  p12: 'apiClientP12',
  passphrase: 'apiClientP12Password',
};
