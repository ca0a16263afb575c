/**
 * WeChat Pay APIv3 protocol: both sides of it. The merchant side is WechatPayV3Client; WeChat's side
 * (for the simulator) is verifyAuthorization, signWechatpayMessage, encryptResource,
 * buildTransactionNotification, buildCertificatesAnswer and createSelfSignedCertificate.
 */
export { AEAD_ALGORITHM, apiV3KeyBytes, decryptResource, encryptResource, randomResourceNonce } from './aead';
export type { EncryptedResource } from './aead';
export {
  AUTHORIZATION_SCHEME,
  MAX_CLOCK_SKEW_SECONDS,
  formatAuthorization,
  parseAuthorization,
  requestSignMessage,
  signRequest,
  verifyAuthorization,
} from './authorization';
export type { AuthorizationCheck, AuthorizationFields, ParsedAuthorization, SignableRequest } from './authorization';
export { WechatPayV3Client, backoffMs } from './client';
export type { V3H5Info, V3PrepayInput, WechatPayV3ClientOptions } from './client';
export {
  appClientParams,
  appSignMessage,
  jsapiClientParams,
  jsapiSignMessage,
  verifyAppClientParams,
  verifyJsapiClientParams,
} from './client-params';
export type { AppClientParams, JsapiClientParams } from './client-params';
export { CLIENT_ERROR_CODES, V3_TO_DOMAIN_CODE, classifyV3Error, isRetryableStatus } from './error-codes';
export { KeyRing, PUBLIC_KEY_ID_PREFIX } from './key-ring';
export type { PlatformKeySource } from './key-ring';
export {
  CERTIFICATE_ASSOCIATED_DATA,
  RefreshingKeySource,
  buildCertificatesAnswer,
  certificatesAnswerSchema,
  decodeCertificatesAnswer,
} from './platform-certificates';
export type { PlatformCertificate } from './platform-certificates';
export { buildTransactionNotification } from './notification';
export type { NotificationEnvelope } from './notification';
export { signSha256Rsa, toPrivateKey, toPublicKey, verifySha256Rsa } from './rsa';
export {
  V3_TRADE_STATES,
  codeUrlAnswerSchema,
  errorAnswerSchema,
  h5UrlAnswerSchema,
  notificationEnvelopeSchema,
  prepayIdAnswerSchema,
  transactionSchema,
} from './schemas';
export type { V3NotificationEnvelope, V3TradeState, V3Transaction } from './schemas';
export { createSelfSignedCertificate, randomCertificateSerial } from './self-signed-certificate';
export type { SelfSignedCertificate } from './self-signed-certificate';
export { toWechatTime } from './time-format';
export {
  HEADER_NONCE,
  HEADER_SERIAL,
  HEADER_SIGNATURE,
  HEADER_SIGNATURE_TYPE,
  HEADER_TIMESTAMP,
  PROBE_SIGNATURE_PREFIX,
  SIGNATURE_TYPE,
  readWechatpaySignature,
  signWechatpayMessage,
  verifyWechatpaySignature,
  wechatpaySignMessage,
} from './wechatpay-signature';
export type { SignatureCheck, SignatureFailure, WechatpaySignature } from './wechatpay-signature';
