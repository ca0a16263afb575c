import { X509Certificate, createPublicKey, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  bitString,
  explicit,
  integer,
  nullValue,
  oid,
  pemOf,
  printable,
  sequence,
  set,
  time,
  utf8,
} from '#shared/wechatpay/testing/der';

/**
 * A minimal self-signed X.509 certificate (RSA, sha256WithRSAEncryption), so the simulator and
 * tests can play a platform certificate without OpenSSL: node:crypto parses certificates but
 * cannot issue them. Production code never issues certificates; it only reads WeChat's.
 */

function name(commonName: string, organization: string): Buffer {
  return sequence(
    set(sequence(oid('2.5.4.6'), printable('CN'))),
    set(sequence(oid('2.5.4.10'), utf8(organization))),
    set(sequence(oid('2.5.4.3'), utf8(commonName))),
  );
}

export interface SelfSignedCertificate {
  pem: string;
  /** Upper-case hex, as X509Certificate.serialNumber and Wechatpay-Serial spell it. */
  serial: string;
  certificate: X509Certificate;
}

/** A 40-hex-digit serial like WeChat's, with a first byte that needs no sign padding. */
export function randomCertificateSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x60);
  return bytes.toString('hex').toUpperCase();
}

export function createSelfSignedCertificate(opts: {
  privateKey: KeyObject;
  commonName?: string;
  organization?: string;
  serial?: string;
  notBefore: Date;
  notAfter: Date;
}): SelfSignedCertificate {
  const serial = (opts.serial ?? randomCertificateSerial()).toUpperCase();
  if (!/^(?:[0-9A-F]{2})+$/.test(serial)) throw new TypeError('serial must be an even number of hex digits');
  const subject = name(opts.commonName ?? 'WeChat Pay simulator platform', opts.organization ?? 'Simulator');
  const algorithm = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
  const spki = createPublicKey(opts.privateKey).export({ type: 'spki', format: 'der' });
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.from(serial, 'hex')),
    algorithm,
    subject,
    sequence(time(opts.notBefore), time(opts.notAfter)),
    subject,
    spki,
  );
  const der = sequence(tbs, algorithm, bitString(sign('sha256', tbs, opts.privateKey)));
  const pem = pemOf('CERTIFICATE', der);
  const certificate = new X509Certificate(pem);
  return { pem, serial: certificate.serialNumber.toUpperCase(), certificate };
}
