import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsFetch } from '#shared/wechatpay/core/tls-fetch';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { CA_CERT_FILE } from '#sandbox/simulator/tls-identity';
import { httpsCall, paidOrder, refundParams, secapiRefund } from './refund-support';
import { MERCHANT, postXml } from './support';

const NO_CERTIFICATE = '400 No required SSL certificate was sent';
const CERTIFICATE_ERROR = '400 The SSL certificate error';

describe('simulator HTTPS and the /secapi/ client certificate', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({ merchant: MERCHANT });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves HTTP and HTTPS on the same port, with a server certificate for 127.0.0.1 and localhost', async () => {
    const port = new URL(sim.url).port;
    expect(sim.httpsUrl).toBe(`https://127.0.0.1:${port}`);
    const plain = await fetch(`${sim.url}/health`);
    expect(await plain.json()).toEqual({ status: 'ok' });
    const overTls = await httpsCall(`${sim.httpsUrl}/health`, { ca: sim.tls.caCertPem });
    expect(JSON.parse(overTls.text)).toEqual({ status: 'ok' });
    const byName = await httpsCall(`https://localhost:${port}/health`, { ca: sim.tls.caCertPem });
    expect(byName.status).toBe(200);
    // Without the simulator's CA the server certificate is not trusted.
    await expect(httpsCall(`${sim.httpsUrl}/health`, {})).rejects.toThrow();
  });

  it('hands out a client certificate issued by its CA for the mchid', () => {
    const ca = new X509Certificate(sim.tls.caCertPem);
    const client = new X509Certificate(sim.tls.clientCertPem);
    expect(client.checkIssued(ca)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(client.subject.split('\n')).toContain(`CN=${MERCHANT.mchid}`);
    expect(client.checkPrivateKey(createPrivateKey(sim.tls.clientKeyPem))).toBe(true);
  });

  it("refuses /secapi/ without a client certificate with nginx's 400 page, over HTTPS and plain HTTP", async () => {
    const { outTradeNo } = await paidOrder(sim);
    const bare = await secapiRefund(sim, refundParams(outTradeNo), 'none');
    expect(bare.status).toBe(400);
    expect(bare.text).toContain(NO_CERTIFICATE);
    const plain = await postXml(sim.url, '/secapi/pay/refund', '<xml></xml>');
    expect(plain.status).toBe(400);
    expect(plain.text).toContain(NO_CERTIFICATE);
    const contentType = (
      await httpsCall(`${sim.httpsUrl}/secapi/pay/refund`, { method: 'POST', ca: sim.tls.caCertPem })
    ).contentType;
    expect(contentType).toMatch(/^text\/html/);
    // Nothing was refunded.
    const query = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '1000' }));
    expect(query.fields.result_code).toBe('SUCCESS');
  });

  it('refuses a certificate from another CA, or from its CA for another mchid: The SSL certificate error', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const foreign = createCertificateAuthority().issue({ commonName: MERCHANT.mchid, usage: 'client' });
    const fromElsewhere = await secapiRefund(sim, refundParams(outTradeNo), foreign);
    expect(fromElsewhere.status).toBe(400);
    expect(fromElsewhere.text).toContain(CERTIFICATE_ERROR);
  });

  it('accepts its own client certificate: the request reaches the API (a signed XML answer)', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const answer = await secapiRefund(sim, refundParams(outTradeNo));
    expect(answer.status).toBe(200);
    expect(answer.fields.return_code).toBe('SUCCESS');
    expect(answer.fields.result_code).toBe('SUCCESS');
  });

  it("works with the library's tlsFetch (trusted CA + client certificate); other paths over HTTPS too", async () => {
    const secure = tlsFetch({ caPem: sim.tls.caCertPem, certPem: sim.tls.clientCertPem, keyPem: sim.tls.clientKeyPem });
    const res = await secure(`${sim.httpsUrl}/secapi/pay/refund`, { method: 'POST', body: '<xml></xml>' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    const orderquery = await secure(`${sim.httpsUrl}/pay/orderquery`, { method: 'POST', body: '<xml></xml>' });
    expect(await orderquery.text()).toContain('return_code');
  });
});

describe('simulator CA from options and from the data directory', () => {
  it('uses the CA given in options: the server and client certificates are issued by it', async () => {
    const ca = createCertificateAuthority({ commonName: 'given CA' });
    const otherMchid = { ...MERCHANT, mchid: '1900000001' };
    const sim = await startSimulator({ merchant: otherMchid, tls: { caCertPem: ca.certPem, caKeyPem: ca.keyPem } });
    try {
      expect(sim.tls.caCertPem).toBe(ca.certPem);
      const client = new X509Certificate(sim.tls.clientCertPem);
      expect(client.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
      expect(client.subject.split('\n')).toContain('CN=1900000001');
      expect((await httpsCall(`${sim.httpsUrl}/health`, { ca: ca.certPem })).status).toBe(200);
      // A certificate of this CA for another merchant is not this merchant's.
      const stranger = ca.issue({ commonName: MERCHANT.mchid, usage: 'client' });
      const answer = await httpsCall(`${sim.httpsUrl}/secapi/pay/refund`, {
        method: 'POST',
        ca: ca.certPem,
        cert: stranger.certPem,
        key: stranger.keyPem,
      });
      expect(answer.status).toBe(400);
      expect(answer.text).toContain(CERTIFICATE_ERROR);
    } finally {
      await sim.close();
    }
  });

  it('generates the CA and client certificate once per data directory and keeps them across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-tls-'));
    try {
      const first = await startSimulator({ merchant: MERCHANT, dataDir: dir });
      const tls = first.tls;
      await first.close();
      expect(readFileSync(join(dir, CA_CERT_FILE), 'utf8')).toBe(tls.caCertPem);
      const second = await startSimulator({ merchant: MERCHANT, dataDir: dir });
      try {
        expect(second.tls).toEqual(tls);
        // The restarted server presents a certificate the kept CA vouches for.
        expect((await httpsCall(`${second.httpsUrl}/health`, { ca: tls.caCertPem })).status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a tls option that is not a certificate and key, naming the field', async () => {
    await expect(startSimulator({ merchant: MERCHANT, tls: { caCertPem: 'nope', caKeyPem: 'nope' } })).rejects.toThrow(
      /tls\.caCertPem/,
    );
  });
});
