import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { certificateAuthorityFrom, createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import type { CertificateAuthority, IssuedCertificate } from '#shared/wechatpay/testing/certificate-authority';
import { readOrCreateSecret } from './persisted-secret';

/**
 * The simulator's TLS side: its own certificate authority, the server certificate it serves HTTPS
 * with (127.0.0.1, ::1 and localhost) and the merchant's API client certificate (CN = mchid, as
 * WeChat's apiclient_cert has), which /secapi/ paths demand. The CA comes from the options, else
 * from the data directory (generated there once, owner only), else is generated for the life of the
 * process. The client certificate is kept beside the CA it was issued by.
 */

export interface TlsIdentity {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** Files under the simulator's data directory. */
export const CA_FILE = 'tls-ca.json';
export const CA_CERT_FILE = 'tls-ca-cert.pem';
export const CLIENT_CERT_FILE = 'apiclient.json';

const pairSchema = z.object({
  certPem: z.string().startsWith('-----BEGIN CERTIFICATE-----'),
  keyPem: z.string().startsWith('-----BEGIN PRIVATE KEY-----'),
});

const generated = new Map<string, TlsIdentity>();

export function loadTlsIdentity(opts: {
  mchid: string;
  dataDir?: string;
  given?: { caCertPem: string; caKeyPem: string };
}): TlsIdentity {
  const cacheKey = [
    opts.mchid,
    opts.dataDir === undefined ? '' : resolve(opts.dataDir),
    opts.given?.caCertPem ?? '',
  ].join('\n');
  const known = generated.get(cacheKey);
  if (known !== undefined) return known;
  const ca = authorityOf(opts);
  const client = clientCertificate(ca, opts.mchid, opts.given === undefined ? opts.dataDir : undefined);
  const server = ca.issue({
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1', '::1'],
    dnsNames: ['localhost'],
    usage: 'server',
  });
  const identity: TlsIdentity = Object.freeze({
    caCertPem: ca.certPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
  });
  // Key generation takes a while; simulators started again in this process reuse the identity.
  generated.set(cacheKey, identity);
  return identity;
}

function authorityOf(opts: {
  dataDir?: string;
  given?: { caCertPem: string; caKeyPem: string };
}): CertificateAuthority {
  if (opts.given !== undefined)
    return certificateAuthorityFrom({ certPem: opts.given.caCertPem, keyPem: opts.given.caKeyPem });
  if (opts.dataDir === undefined) return createCertificateAuthority({ commonName: 'WeChat Pay simulator CA' });
  const stored = readPair(
    readOrCreateSecret(join(opts.dataDir, CA_FILE), () => {
      const ca = createCertificateAuthority({ commonName: 'WeChat Pay simulator CA' });
      return `${JSON.stringify({ certPem: ca.certPem, keyPem: ca.keyPem }, null, 2)}\n`;
    }),
    CA_FILE,
  );
  // The certificate alone, for NODE_EXTRA_CA_CERTS or curl --cacert (public, so readable by all).
  writeFileSync(join(opts.dataDir, CA_CERT_FILE), stored.certPem);
  return certificateAuthorityFrom(stored);
}

/** The merchant's certificate: kept in the data directory while it still fits this CA and mchid. */
function clientCertificate(ca: CertificateAuthority, mchid: string, dataDir: string | undefined): IssuedCertificate {
  const issue = (): IssuedCertificate => ca.issue({ commonName: mchid, usage: 'client' });
  if (dataDir === undefined) return issue();
  const stored = readPair(
    readOrCreateSecret(join(dataDir, `${mchid}-${CLIENT_CERT_FILE}`), () => `${JSON.stringify(issue(), null, 2)}\n`),
    CLIENT_CERT_FILE,
  );
  return fits(stored.certPem, ca.certPem, mchid) ? stored : issue();
}

function fits(certPem: string, caCertPem: string, mchid: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caCertPem);
    return cert.verify(ca.publicKey) && cert.subject.split('\n').includes(`CN=${mchid}`);
  } catch {
    return false;
  }
}

function readPair(text: string, file: string): z.infer<typeof pairSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON; delete it to generate a new one`, { cause: err });
  }
  const parsed = pairSchema.safeParse(json);
  // Names the file, never its contents: it holds a private key.
  if (!parsed.success) throw new Error(`${file} is not valid; delete it to generate a new one`);
  return parsed.data;
}
