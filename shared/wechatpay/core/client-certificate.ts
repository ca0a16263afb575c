import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import * as z from 'zod';
import { WechatPayValidationError } from './errors';

/**
 * The merchant's API client certificate, which WeChat Pay v2 wants for its /secapi/ paths (refunds)
 * over mutual TLS: the PEM pair WeChat hands out (apiclient_cert.pem + apiclient_key.pem), or the
 * same in apiclient_cert.p12, whose password is the mchid.
 */
export type ClientCertificate = { certPem: string; keyPem: string } | { p12: Buffer; passphrase: string };

export const clientCertificateSchema = z.union([
  z.strictObject({ certPem: z.string().min(1), keyPem: z.string().min(1) }),
  z.strictObject({
    p12: z.custom<Buffer>((v) => Buffer.isBuffer(v), 'must be the bytes of the .p12 file'),
    passphrase: z.string(),
  }),
]);

const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/;

function pemLabel(text: string): string | undefined {
  return PEM_LABEL.exec(text)?.[1];
}

function invalid(message: string, field: string, cause?: unknown): WechatPayValidationError {
  // Only OpenSSL's reason travels as the cause: it never holds key material.
  return new WechatPayValidationError(`API client certificate: ${message}`, `clientCertificate.${field}`, {
    cause: cause instanceof Error ? new Error(cause.message) : undefined,
  });
}

const CONVERT_HINT =
  'convert it once with `openssl pkcs12 -in apiclient_cert.p12 -nodes -out apiclient.pem` ' +
  '(OpenSSL 3 may need `-legacy`) and configure the certificate and key PEMs from that file instead';

function checkP12(p12: Buffer, passphrase: string): void {
  try {
    createSecureContext({ pfx: p12, passphrase });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const code = (error as { code?: unknown }).code;
    if (/mac verify failure/i.test(message))
      throw invalid('the p12 password is wrong (WeChat sets it to the merchant number, mchid)', 'passphrase', error);
    if (code === 'ERR_CRYPTO_UNSUPPORTED_OPERATION' || /unsupported/i.test(message))
      throw invalid(
        'the p12 file uses legacy encryption (RC2-40, as older WeChat downloads do) that OpenSSL 3 no ' +
          `longer reads without its legacy provider; ${CONVERT_HINT}`,
        'p12',
        error,
      );
    if (/private key/i.test(message)) throw invalid('the p12 file holds no private key', 'p12', error);
    if (/certificate/i.test(message)) throw invalid('the p12 file holds no certificate', 'p12', error);
    const looksLikeText = /^[\s\x20-\x7e]*$/.test(p12.subarray(0, 64).toString('latin1'));
    throw invalid(
      looksLikeText
        ? 'not a PKCS#12 file: these bytes are text (base64 or PEM?), give the binary .p12 itself'
        : 'not a PKCS#12 (.p12) file',
      'p12',
      error,
    );
  }
}

function checkPemPair(certPem: string, keyPem: string): void {
  const certLabel = pemLabel(certPem);
  const keyLabel = pemLabel(keyPem);
  if (certLabel?.endsWith('PRIVATE KEY') && keyLabel === 'CERTIFICATE')
    throw invalid('the certificate and the key are swapped (certPem holds the key, keyPem the certificate)', 'certPem');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    if (certLabel?.endsWith('PRIVATE KEY'))
      throw invalid('certPem holds a private key, not the certificate (apiclient_cert.pem)', 'certPem');
    throw invalid('certPem is not a PEM certificate (apiclient_cert.pem)', 'certPem', error);
  }
  if (keyLabel === 'CERTIFICATE')
    throw invalid('keyPem holds a certificate, not the private key (apiclient_key.pem)', 'keyPem');
  if (keyLabel === 'ENCRYPTED PRIVATE KEY')
    throw invalid('keyPem is encrypted; give the unencrypted apiclient_key.pem', 'keyPem');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw invalid('keyPem is not a PEM private key (apiclient_key.pem)', 'keyPem', error);
  }
  if (!certificate.checkPrivateKey(key))
    throw invalid('the key is not the certificate’s: certPem and keyPem are not one pair', 'keyPem');
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (error) {
    throw invalid('TLS cannot use this certificate and key', 'certPem', error);
  }
}

/**
 * Throws WechatPayValidationError (naming the field, never a value) unless the certificate is
 * usable for mutual TLS: so a swapped pair or a wrong p12 password is a configuration error at
 * start-up, not a TLS failure at the first refund.
 */
export function checkClientCertificate(certificate: ClientCertificate): void {
  const parsed = clientCertificateSchema.safeParse(certificate);
  if (!parsed.success)
    throw new WechatPayValidationError(
      'API client certificate: give either { certPem, keyPem } or { p12, passphrase }',
      'clientCertificate',
    );
  const c = parsed.data;
  if ('p12' in c) checkP12(c.p12, c.passphrase);
  else checkPemPair(c.certPem, c.keyPem);
}
