import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateAuthorityFrom, createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import type { CertificateAuthority, IssuedCertificate } from '#shared/wechatpay/testing/certificate-authority';

let ca: CertificateAuthority;
let server: IssuedCertificate;
let client: IssuedCertificate;
let dir: string;

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: 'Test CA' });
  server = ca.issue({
    commonName: 'simulator',
    ipAddresses: ['127.0.0.1', '::1'],
    dnsNames: ['localhost'],
    usage: 'server',
  });
  client = ca.issue({ commonName: '1900000109', usage: 'client' });
  dir = mkdtempSync(join(tmpdir(), 'ca-test-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** `openssl verify` with a purpose: it checks basicConstraints, keyUsage and extendedKeyUsage as TLS stacks do. */
function opensslVerifies(caPem: string, certPem: string, purpose: 'sslserver' | 'sslclient'): boolean {
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'cert.pem');
  writeFileSync(caFile, caPem);
  writeFileSync(certFile, certPem);
  try {
    execFileSync('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', caFile, certFile], {
      stdio: 'pipe',
    });
    return true;
  } catch {
    return false;
  }
}

describe('createCertificateAuthority', () => {
  it('makes a self-signed CA certificate whose key is the one given back', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=Test CA');
    expect(cert.issuer).toBe('CN=Test CA');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('issues a server certificate for the addresses asked, signed by the CA, fit for TLS servers only', () => {
    const cert = new X509Certificate(server.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=simulator');
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(client.keyPem))).toBe(false);
    expect(opensslVerifies(ca.certPem, server.certPem, 'sslserver')).toBe(true);
    expect(opensslVerifies(ca.certPem, server.certPem, 'sslclient')).toBe(false);
  });

  it('issues a client certificate with the CN asked (the mchid, as WeChat does), fit for TLS clients only', () => {
    const cert = new X509Certificate(client.certPem);
    expect(cert.subject).toBe('CN=1900000109');
    expect(cert.subjectAltName).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(opensslVerifies(ca.certPem, client.certPem, 'sslclient')).toBe(true);
    expect(opensslVerifies(ca.certPem, client.certPem, 'sslserver')).toBe(false);
    expect(opensslVerifies(createCertificateAuthority().certPem, client.certPem, 'sslclient')).toBe(false);
  });

  it('reloads a persisted CA that issues certificates the original CA certificate verifies', () => {
    const reloaded = certificateAuthorityFrom({ certPem: ca.certPem, keyPem: ca.keyPem });
    const issued = reloaded.issue({ commonName: 'again', usage: 'client' });
    expect(new X509Certificate(issued.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(opensslVerifies(ca.certPem, issued.certPem, 'sslclient')).toBe(true);
  });

  it('refuses to reload a leaf certificate or a key that is not the CA’s', () => {
    expect(() => certificateAuthorityFrom({ certPem: server.certPem, keyPem: server.keyPem })).toThrow(/not a CA/);
    expect(() => certificateAuthorityFrom({ certPem: ca.certPem, keyPem: client.keyPem })).toThrow(/not the CA/);
  });
});

describe('mutual TLS with the issued certificates', () => {
  let https: Server;
  let port: number;

  beforeAll(async () => {
    https = createServer(
      { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(peer.subject.CN);
      },
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    port = (https.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => https.close(resolve));
  });

  function get(tls: { ca?: string; cert?: string; key?: string }): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ...tls }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('completes the handshake both ways: the server sees the client certificate’s CN', async () => {
    await expect(get({ ca: ca.certPem, cert: client.certPem, key: client.keyPem })).resolves.toBe('1900000109');
  });

  it('fails with no client certificate, one from another CA, or a client that does not trust the CA', async () => {
    await expect(get({ ca: ca.certPem })).rejects.toThrow();
    const other = createCertificateAuthority().issue({ commonName: '1900000109', usage: 'client' });
    await expect(get({ ca: ca.certPem, cert: other.certPem, key: other.keyPem })).rejects.toThrow();
    await expect(get({ cert: client.certPem, key: client.keyPem })).rejects.toThrow(
      /self.signed|unable to (get|verify)/i,
    );
  });
});
