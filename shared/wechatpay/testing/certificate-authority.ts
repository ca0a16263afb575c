import {
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  boolean,
  childrenOf,
  contentOf,
  explicit,
  ia5,
  implicit,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  pemOf,
  sequence,
  set,
  time,
  utf8,
} from './der';

/**
 * A private certificate authority for mutual TLS in tests and the simulator: WeChat's /secapi/
 * paths want the merchant's API client certificate, and playing that locally needs a CA that
 * issues a server certificate for 127.0.0.1 and a client certificate whose CN is the mchid.
 * RSA 2048 and sha256WithRSAEncryption, like WeChat's apiclient certificates. Never used in
 * production, which only presents the certificate WeChat issued.
 */

export interface IssuedCertificate {
  certPem: string;
  /** PKCS#8 PEM, like WeChat's apiclient_key.pem. */
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  ipAddresses?: string[];
  dnsNames?: string[];
  /** serverAuth for a TLS server, clientAuth for a client presenting a certificate. */
  usage: 'server' | 'client';
}

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  issue(options: IssueOptions): IssuedCertificate;
}

const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
const CA_YEARS = 10;
const ISSUED_YEARS = 5;
// Issued certificates start an hour back so a peer whose clock is slightly behind accepts them.
const BACKDATE_MS = 60 * 60 * 1000;

const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;
const EXTENDED_KEY_USAGE = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;

function newRsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

function keyPemOf(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  // Positive and without a leading zero byte, so the DER integer is exactly these 16 bytes.
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x60);
  return bytes;
}

function commonNameOnly(commonName: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.3'), utf8(commonName))));
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits, as OpenSSL computes it too. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const [, subjectPublicKey] = childrenOf(spki);
  if (!subjectPublicKey) throw new TypeError('SubjectPublicKeyInfo without a key');
  return createHash('sha1').update(contentOf(subjectPublicKey).subarray(1)).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function ipAddressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address) || address.includes('.')) throw new TypeError(`not an IP address: ${address}`);
  const [head = '', tail] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

function subjectAltName(ipAddresses: string[], dnsNames: string[]): Buffer {
  const names = [
    ...dnsNames.map((dns) => implicit(2, contentOf(ia5(dns)))),
    ...ipAddresses.map((ip) => implicit(7, ipAddressBytes(ip))),
  ];
  return sequence(...names);
}

function certificatePem(opts: {
  issuer: Buffer;
  subject: Buffer;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}): string {
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(randomSerial()),
    SHA256_WITH_RSA,
    opts.issuer,
    sequence(time(opts.notBefore), time(opts.notAfter)),
    opts.subject,
    opts.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...opts.extensions)),
  );
  return pemOf('CERTIFICATE', sequence(tbs, SHA256_WITH_RSA, bitString(sign('sha256', tbs, opts.signingKey))));
}

function yearsAfter(date: Date, years: number): Date {
  const out = new Date(date);
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}

/** The subject Name, as DER, of a certificate: an issued certificate's issuer must be these exact bytes. */
function subjectOf(certificate: X509Certificate): Buffer {
  const [tbs] = childrenOf(certificate.raw);
  if (!tbs) throw new TypeError('certificate without a TBSCertificate');
  const fields = childrenOf(tbs);
  // version [0] is optional; the subject follows serial, signature, issuer and validity.
  const subject = fields[fields[0]?.[0] === 0xa0 ? 5 : 4];
  if (!subject) throw new TypeError('certificate without a subject');
  return subject;
}

function authority(certPem: string, caKey: KeyObject): CertificateAuthority {
  const caCertificate = new X509Certificate(certPem);
  const issuer = subjectOf(caCertificate);
  const authorityKeyId = keyIdentifier(createPublicKey(caKey));
  return {
    certPem,
    keyPem: keyPemOf(caKey),
    issue(options: IssueOptions): IssuedCertificate {
      const key = newRsaKey();
      const publicKey = createPublicKey(key);
      const now = Date.now();
      const ipAddresses = options.ipAddresses ?? [];
      const dnsNames = options.dnsNames ?? [];
      const usageBits =
        options.usage === 'server'
          ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]
          : [KEY_USAGE.digitalSignature];
      const extensions = [
        extension('2.5.29.19', true, sequence()),
        extension('2.5.29.15', true, namedBits(usageBits)),
        extension('2.5.29.37', false, sequence(oid(EXTENDED_KEY_USAGE[options.usage]))),
        extension('2.5.29.14', false, octetString(keyIdentifier(publicKey))),
        extension('2.5.29.35', false, sequence(implicit(0, authorityKeyId))),
      ];
      if (ipAddresses.length + dnsNames.length > 0) {
        extensions.push(extension('2.5.29.17', false, subjectAltName(ipAddresses, dnsNames)));
      }
      const notAfter = yearsAfter(new Date(now), ISSUED_YEARS);
      const certPem = certificatePem({
        issuer,
        subject: commonNameOnly(options.commonName),
        publicKey,
        signingKey: caKey,
        notBefore: new Date(now - BACKDATE_MS),
        // Never outlive the CA: a chain with a child valid past its issuer fails to verify then.
        notAfter: notAfter.getTime() < Date.parse(caCertificate.validTo) ? notAfter : new Date(caCertificate.validTo),
        extensions,
      });
      return { certPem, keyPem: keyPemOf(key) };
    },
  };
}

export function createCertificateAuthority(options: { commonName?: string } = {}): CertificateAuthority {
  const key = newRsaKey();
  const publicKey = createPublicKey(key);
  const subject = commonNameOnly(options.commonName ?? 'WeChat Pay simulator CA');
  const now = new Date(Date.now() - BACKDATE_MS);
  const certPem = certificatePem({
    issuer: subject,
    subject,
    publicKey,
    signingKey: key,
    notBefore: now,
    notAfter: yearsAfter(now, CA_YEARS),
    extensions: [
      // pathLenConstraint 0: it issues end-entity certificates only.
      extension('2.5.29.19', true, sequence(boolean(true), integer(Buffer.from([0])))),
      extension('2.5.29.15', true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension('2.5.29.14', false, octetString(keyIdentifier(publicKey))),
    ],
  });
  return authority(certPem, key);
}

/** Reloads a persisted authority (the simulator keeps its CA with its state). */
export function certificateAuthorityFrom(persisted: { certPem: string; keyPem: string }): CertificateAuthority {
  const certificate = new X509Certificate(persisted.certPem);
  const key = createPrivateKey(persisted.keyPem);
  if (!certificate.ca) throw new TypeError('the certificate is not a CA certificate (basicConstraints CA:TRUE)');
  if (!certificate.checkPrivateKey(key)) throw new TypeError("the key is not the CA certificate's private key");
  return authority(persisted.certPem, key);
}
