import { X509Certificate, createPublicKey, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * A minimal self-signed X.509 certificate (RSA, sha256WithRSAEncryption), so the simulator and
 * tests can play a platform certificate without OpenSSL: node:crypto parses certificates but
 * cannot issue them. Production code never issues certificates; it only reads WeChat's.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 + n, content);

function integer(bytes: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a 0x00 in front to stay positive.
  const first = bytes[0] ?? 0;
  return tlv(0x02, first & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  // RFC 5280: UTCTime until 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${digits}Z`));
}

function name(commonName: string, organization: string): Buffer {
  return sequence(
    set(sequence(oid('2.5.4.6'), tlv(0x13, Buffer.from('CN')))),
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
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
  const certificate = new X509Certificate(pem);
  return { pem, serial: certificate.serialNumber.toUpperCase(), certificate };
}
