import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { WechatPayV2Provider } from '#shared/adapters/wechatpay-v2-provider';
import { WechatPayV2RefundNotificationCodec } from '#shared/adapters/wechatpay-v2-refund-notification-codec';
import type { RefundReport } from '#shared/domain/refund';
import { waitFor } from '#test/helpers/wait-for';

import { WechatPayV2Refunds } from '#shared/adapters/wechatpay-v2-refunds';
import { ConfigurationError, ProviderError } from '#shared/domain/errors';
import type { RefundSubmission } from '#shared/domain/refund-ports';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import type { CraftedAnswer, CraftedRequest, CraftedServer } from '#test/helpers/wechatpay-v2';
import { makeP12, signedV2Xml, startCraftedServer } from '#test/helpers/wechatpay-v2';
import { toXml } from '#shared/wechatpay/v2/xml';

const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };
const authority = createCertificateAuthority({ commonName: 'test CA' });
const CLIENT_CERTIFICATE = authority.issue({ commonName: MERCHANT.mchid, usage: 'client' });

const submission: RefundSubmission = {
  outTradeNo: '000123',
  outRefundNo: 'R-000123-1',
  refund: 600,
  total: 2501,
  currency: 'CNY',
  reason: '商品已售完',
  notifyUrl: 'https://merchant.example.com/notify/refund',
};

describe('WechatPayV2Refunds configuration', () => {
  it('without a client certificate: submit refused (ConfigurationError, nothing sent), queries work', async () => {
    const server = await startCraftedServer((req) => ({
      body: signedV2Xml(
        {
          return_code: 'SUCCESS',
          result_code: 'FAIL',
          err_code: 'REFUNDNOTEXIST',
          appid: req.fields.appid,
          mch_id: req.fields.mch_id,
        },
        MERCHANT.apiKey,
      ),
    }));
    try {
      const p = new WechatPayV2Refunds({ baseUrl: server.url, ...MERCHANT, maxAttempts: 1 });
      await expect(p.submitRefund(submission)).rejects.toBeInstanceOf(ConfigurationError);
      expect(server.requests).toHaveLength(0);
      expect((await p.queryRefund('000123', 'R-000123-1')).status).toBe('NOT_FOUND');
    } finally {
      await server.close();
    }
  });

  it('without a client certificate: the operator is told what to set, as the app words it', async () => {
    const p = new WechatPayV2Refunds({
      baseUrl: 'http://127.0.0.1:9',
      ...MERCHANT,
      noCertificateMessage: 'set apiClientCert and apiClientKey',
    });
    await expect(p.submitRefund(submission)).rejects.toThrow(
      expect.objectContaining({ constructor: ConfigurationError, message: 'set apiClientCert and apiClientKey' }),
    );
  });

  it('a certificate and key swapped or not a pair: submitRefund is a ConfigurationError, nothing sent', async () => {
    // Checked once, by the library at the first refund (the app checks it at load, naming the secret's field).
    const server = await startCraftedServer(() => ({ body: '' }));
    try {
      const other = authority.issue({ commonName: MERCHANT.mchid, usage: 'client' });
      const attempts = [
        { certPem: CLIENT_CERTIFICATE.keyPem, keyPem: CLIENT_CERTIFICATE.certPem },
        { certPem: CLIENT_CERTIFICATE.certPem, keyPem: other.keyPem },
        { p12: makeP12(CLIENT_CERTIFICATE, MERCHANT.mchid), passphrase: 'not-the-mchid' },
      ];
      for (const clientCertificate of attempts) {
        const p = new WechatPayV2Refunds({ baseUrl: server.url, ...MERCHANT, clientCertificate, maxAttempts: 1 });
        const error: unknown = await p.submitRefund(submission).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).not.toContain('PRIVATE KEY');
        expect((error as Error).message).not.toContain(MERCHANT.apiKey);
      }
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});

describe('WechatPayV2Refunds over mutual TLS', () => {
  const serverCertificate = authority.issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  let server: CraftedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('presents the merchant’s certificate (PEM or p12) to a server it trusts through trustedCaPem', async () => {
    server = await startCraftedServer(
      (req) => ({
        body: signedV2Xml(
          {
            return_code: 'SUCCESS',
            result_code: 'SUCCESS',
            appid: req.fields.appid,
            mch_id: req.fields.mch_id,
            out_trade_no: req.fields.out_trade_no,
            out_refund_no: req.fields.out_refund_no,
            refund_id: '50000303712026112501466990000',
            refund_fee: req.fields.refund_fee,
            total_fee: req.fields.total_fee,
          },
          MERCHANT.apiKey,
        ),
      }),
      { certPem: serverCertificate.certPem, keyPem: serverCertificate.keyPem, clientCaPem: authority.certPem },
    );
    const p12 = makeP12(CLIENT_CERTIFICATE, MERCHANT.mchid);
    for (const clientCertificate of [CLIENT_CERTIFICATE, { p12, passphrase: MERCHANT.mchid }]) {
      const p = new WechatPayV2Refunds({
        baseUrl: server.url,
        ...MERCHANT,
        clientCertificate,
        trustedCaPem: authority.certPem,
        maxAttempts: 1,
      });
      expect((await p.submitRefund(submission)).status).toBe('PROCESSING');
    }
    expect(server.requests.map((r) => r.clientCertificateCN)).toEqual([MERCHANT.mchid, MERCHANT.mchid]);
  });

  it('a server that hangs up at the handshake leaves the refund to be sent again: retryable, never final', async () => {
    const stranger = createCertificateAuthority({ commonName: 'another CA' });
    const https = createHttpsServer(
      {
        cert: serverCertificate.certPem,
        key: serverCertificate.keyPem,
        ca: stranger.certPem,
        requestCert: true,
        rejectUnauthorized: true,
        maxVersion: 'TLSv1.2',
      },
      (_req, res) => res.end('never'),
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = https.address() as AddressInfo;
      const p = new WechatPayV2Refunds({
        baseUrl: `https://127.0.0.1:${port}`,
        ...MERCHANT,
        clientCertificate: CLIENT_CERTIFICATE,
        trustedCaPem: authority.certPem,
        maxAttempts: 1,
      });
      // Node's TLS server hangs up without an alert the client could name: nothing says it was the
      // certificate, so it is a failed exchange (sent again later), never WeChat's final refusal.
      await expect(p.submitRefund(submission)).rejects.toMatchObject({
        constructor: ProviderError,
        kind: 'transport',
        retryable: true,
      });
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });
});

describe('WechatPayV2Refunds against crafted WeChat answers', () => {
  let server: CraftedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function signed(req: CraftedRequest, extra: Record<string, string | undefined>): CraftedAnswer {
    const fields = {
      return_code: 'SUCCESS',
      appid: req.fields.appid,
      mch_id: req.fields.mch_id,
      nonce_str: 'x',
      result_code: 'SUCCESS',
      ...extra,
    };
    return { body: signedV2Xml(fields, MERCHANT.apiKey, req.fields.sign_type === 'MD5' ? 'MD5' : 'HMAC-SHA256') };
  }

  async function refunds(answer: (req: CraftedRequest) => CraftedAnswer): Promise<WechatPayV2Refunds> {
    server = await startCraftedServer(answer);
    return new WechatPayV2Refunds({
      baseUrl: server.url,
      ...MERCHANT,
      clientCertificate: CLIENT_CERTIFICATE,
      sleep: async () => {},
      maxAttempts: 1,
    });
  }

  /** A refundquery answer with these records as WeChat pages them (`_$n` from 0). */
  function queryAnswer(req: CraftedRequest, records: Record<string, string>[]): CraftedAnswer {
    const paged: Record<string, string> = {};
    records.forEach((record, n) => {
      for (const [k, v] of Object.entries(record)) paged[`${k}_${n}`] = v;
    });
    return signed(req, {
      out_trade_no: '000123',
      transaction_id: '4200000000202611250000000001',
      total_fee: '2501',
      cash_fee: '2501',
      refund_count: String(records.length),
      ...paged,
    });
  }

  const record = (over: Record<string, string> = {}): Record<string, string> => ({
    out_refund_no: 'R-000123-1',
    refund_id: '50000303712026112501466990000',
    refund_channel: 'ORIGINAL',
    refund_fee: '600',
    refund_status: 'PROCESSING',
    refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
    refund_recv_accout: '支付用户零钱',
    ...over,
  });

  it('submitRefund: sends our refund as WeChat’s fields and reports the acceptance as PROCESSING', async () => {
    const p = await refunds((req) =>
      signed(req, {
        out_trade_no: req.fields.out_trade_no,
        out_refund_no: req.fields.out_refund_no,
        transaction_id: '4200000000202611250000000001',
        refund_id: '50000303712026112501466990000',
        refund_fee: req.fields.refund_fee,
        total_fee: req.fields.total_fee,
        cash_fee: req.fields.total_fee,
      }),
    );
    expect(p.apiVersion).toBe('v2');
    expect(await p.submitRefund(submission)).toEqual({
      outTradeNo: '000123',
      outRefundNo: 'R-000123-1',
      status: 'PROCESSING',
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      refundId: '50000303712026112501466990000',
      transactionId: '4200000000202611250000000001',
      amount: { refund: 600, total: 2501 },
      // v2 says nothing of when WeChat accepted it: whose answer this is tells the domain.
      answerTo: 'submit',
    });
    expect(server?.requests[0]?.path).toBe('/secapi/pay/refund');
    expect(server?.requests[0]?.fields).toMatchObject({
      out_trade_no: '000123',
      out_refund_no: 'R-000123-1',
      total_fee: '2501',
      refund_fee: '600',
      refund_desc: '商品已售完',
      notify_url: 'https://merchant.example.com/notify/refund',
    });
  });

  it.each([
    ['SUCCESS', 'SUCCESS'],
    ['REFUNDCLOSE', 'CLOSED'],
    ['PROCESSING', 'PROCESSING'],
    ['CHANGE', 'ABNORMAL'],
  ])('queryRefund: refund_status %s is %s', async (wechat, ours) => {
    const over: Record<string, string> = { refund_status: wechat };
    if (wechat === 'SUCCESS') over.refund_success_time = '2026-11-25 12:00:30';
    const p = await refunds((req) => queryAnswer(req, [record(over)]));
    const report = await p.queryRefund('000123', 'R-000123-1');
    expect(report).toEqual({
      outTradeNo: '000123',
      outRefundNo: 'R-000123-1',
      status: ours,
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      refundId: '50000303712026112501466990000',
      transactionId: '4200000000202611250000000001',
      amount: { refund: 600, total: 2501 },
      userReceivedAccount: '支付用户零钱',
      answerTo: 'query',
      ...(wechat === 'SUCCESS' ? { successTime: '2026-11-25T12:00:30+08:00' } : {}),
    });
    expect(server?.requests[0]?.path).toBe('/pay/refundquery');
    expect(server?.requests[0]?.fields.out_refund_no).toBe('R-000123-1');
  });

  it('queryRefund: picks, of the paged records, the one whose out_refund_no is ours', async () => {
    const p = await refunds((req) =>
      queryAnswer(req, [
        record({ out_refund_no: 'R-000123-0', refund_id: '50000303712026112501466990001', refund_status: 'SUCCESS' }),
        record({ refund_fee: '700', refund_status: 'CHANGE' }),
      ]),
    );
    expect(await p.queryRefund('000123', 'R-000123-1')).toMatchObject({
      outRefundNo: 'R-000123-1',
      status: 'ABNORMAL',
      refundId: '50000303712026112501466990000',
      amount: { refund: 700, total: 2501 },
    });
  });

  it('queryRefund: reports the order WeChat names, for the domain to match (never masked by ours)', async () => {
    const p = await refunds((req) => ({
      body: signedV2Xml(
        {
          return_code: 'SUCCESS',
          result_code: 'SUCCESS',
          appid: req.fields.appid,
          mch_id: req.fields.mch_id,
          nonce_str: 'x',
          out_trade_no: '000999',
          transaction_id: '4200000000202611250000000009',
          total_fee: '9999',
          refund_count: '1',
          ...Object.fromEntries(Object.entries(record({ refund_status: 'SUCCESS' })).map(([k, v]) => [`${k}_0`, v])),
        },
        MERCHANT.apiKey,
      ),
    }));
    expect(await p.queryRefund('000123', 'R-000123-1')).toMatchObject({
      outTradeNo: '000999',
      transactionId: '4200000000202611250000000009',
      amount: { refund: 600, total: 9999 },
    });
  });

  it('queryRefund: an answer without our record is unreadable, never another refund’s status', async () => {
    const p = await refunds((req) =>
      queryAnswer(req, [record({ out_refund_no: 'R-000123-0', refund_status: 'SUCCESS' })]),
    );
    await expect(p.queryRefund('000123', 'R-000123-1')).rejects.toMatchObject({
      constructor: ProviderError,
      code: 'INVALID_RESPONSE',
    });
  });

  it('queryRefund: REFUNDNOTEXIST is NOT_FOUND, not an error', async () => {
    const p = await refunds((req) =>
      signed(req, { result_code: 'FAIL', err_code: 'REFUNDNOTEXIST', err_code_des: '退款订单查询失败' }),
    );
    expect(await p.queryRefund('000123', 'R-000123-1')).toEqual({
      outTradeNo: '000123',
      outRefundNo: 'R-000123-1',
      status: 'NOT_FOUND',
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      answerTo: 'query',
    });
  });

  it('queryRefund: an unsigned REFUNDNOTEXIST is no word of WeChat’s: an error, never NOT_FOUND', async () => {
    const p = await refunds(() => ({
      body: toXml({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'REFUNDNOTEXIST' }),
    }));
    await expect(p.queryRefund('000123', 'R-000123-1')).rejects.toBeInstanceOf(ProviderError);
  });

  it.each(['SYSTEMERROR', 'BIZERR_NEED_RETRY', 'NOTENOUGH', 'FREQUENCY_LIMITED', 'ORDER_NOT_READY'])(
    'submitRefund: %s is retryable (the same out_refund_no goes again later)',
    async (code) => {
      const p = await refunds((req) => signed(req, { result_code: 'FAIL', err_code: code, err_code_des: '…' }));
      await expect(p.submitRefund(submission)).rejects.toMatchObject({
        constructor: ProviderError,
        code,
        retryable: true,
        kind: 'business',
      });
    },
  );

  it.each([
    'REFUND_FEE_MISMATCH',
    'INVALID_REQUEST',
    'ERROR',
    'TRADE_OVERDUE',
    'USER_ACCOUNT_ABNORMAL',
    'ORDERNOTEXIST',
  ])('submitRefund: %s is WeChat’s final refusal', async (code) => {
    const p = await refunds((req) => signed(req, { result_code: 'FAIL', err_code: code, err_code_des: '…' }));
    await expect(p.submitRefund(submission)).rejects.toMatchObject({
      constructor: ProviderError,
      code,
      retryable: false,
      kind: 'business',
    });
  });

  it('submitRefund: CERT_ERROR is the deployment’s certificate, a ConfigurationError', async () => {
    const p = await refunds((req) => signed(req, { result_code: 'FAIL', err_code: 'CERT_ERROR', err_code_des: '…' }));
    await expect(p.submitRefund(submission)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('submitRefund: WeChat’s nginx refusing the certificate (HTML 400) is a ConfigurationError', async () => {
    const p = await refunds(() => ({
      status: 400,
      headers: { 'content-type': 'text/html' },
      body:
        '<html><head><title>400 No required SSL certificate was sent</title></head><body>' +
        '<center><h1>400 Bad Request</h1></center><center>No required SSL certificate was sent</center>' +
        '<hr><center>nginx</center></body></html>',
    }));
    await expect(p.submitRefund(submission)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('submitRefund: any other HTTP 400 page stays a ProviderError', async () => {
    const p = await refunds(() => ({
      status: 400,
      headers: { 'content-type': 'text/html' },
      body: '<html>Bad Request</html>',
    }));
    await expect(p.submitRefund(submission)).rejects.toBeInstanceOf(ProviderError);
  });

  it('submitRefund: a transport failure is retryable', async () => {
    const p = await refunds(() => ({ destroy: true }));
    await expect(p.submitRefund(submission)).rejects.toMatchObject({
      constructor: ProviderError,
      retryable: true,
      kind: 'transport',
    });
  });
});

// ---- Against the simulator: WeChat's rules, mutual TLS, and its notifications --------------------

/** A loopback notify endpoint that keeps what it is sent and answers as a merchant that took it. */
async function startNotifyReceiver(reply: { status: number; body: string }) {
  const bodies: string[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(reply.status, { 'content-type': 'text/xml' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('WechatPayV2Refunds against the simulator', () => {
  let sim: RunningSimulator;
  let receiver: Awaited<ReturnType<typeof startNotifyReceiver>>;
  let refunds: WechatPayV2Refunds;
  let orderSeq = 0;

  beforeAll(async () => {
    sim = await startSimulator({ merchant: MERCHANT });
    receiver = await startNotifyReceiver({
      status: 200,
      body: '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
    });
    refunds = new WechatPayV2Refunds({
      baseUrl: sim.httpsUrl,
      ...MERCHANT,
      clientCertificate: { certPem: sim.tls.clientCertPem, keyPem: sim.tls.clientKeyPem },
      trustedCaPem: sim.tls.caCertPem,
      sleep: async () => {},
    });
  });
  afterAll(async () => {
    await sim?.close();
    await receiver?.close();
  });

  /** An order paid at the simulator, for `total` fen. */
  async function paidOrder(total: number): Promise<string> {
    orderSeq += 1;
    const outTradeNo = `RFV2${Date.now()}${orderSeq}`;
    const payments = new WechatPayV2Provider({ baseUrl: sim.url, ...MERCHANT, sleep: async () => {} });
    await payments.prepay(
      {
        outTradeNo,
        description: 'refund test',
        amount: { total, currency: 'CNY' },
        tradeType: 'NATIVE',
        productId: 'sku-1',
        payerClientIp: '127.0.0.1',
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
      `${receiver.url}/notify/pay`,
    );
    const paid = await fetch(`${sim.url}/sandbox/orders/${outTradeNo}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: 'SUCCESS' }),
    });
    expect(paid.status).toBe(200);
    return outTradeNo;
  }

  function refundOf(outTradeNo: string, n: number, refund: number, total: number): RefundSubmission {
    return {
      outTradeNo,
      outRefundNo: `${outTradeNo}R${n}`,
      refund,
      total,
      currency: 'CNY',
      notifyUrl: `${receiver.url}/notify/refund`,
    };
  }

  async function complete(outRefundNo: string, result: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'): Promise<void> {
    const res = await fetch(`${sim.url}/sandbox/refunds/${outRefundNo}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result }),
    });
    expect(res.status).toBe(200);
  }

  /** The refund notification the simulator delivered for this refund, read by our codec. */
  async function notifiedReport(outRefundNo: string, status: string): Promise<RefundReport> {
    const codec = new WechatPayV2RefundNotificationCodec({ apiKey: MERCHANT.apiKey });
    const found = await waitFor(
      async () => {
        for (const body of receiver.bodies) {
          const verified = await codec.verify({ headers: { 'content-type': 'text/xml' }, body });
          const r = verified.kind === 'refund' ? verified.report : undefined;
          if (r?.outRefundNo === outRefundNo && r.status === status) return r;
        }
        return undefined;
      },
      (r) => r !== undefined,
    );
    return found as RefundReport;
  }

  it('submits over mutual TLS, then reports each outcome the same by query and by notification', async () => {
    const outTradeNo = await paidOrder(3000);
    const outcomes = [
      ['SUCCESS', 'SUCCESS'],
      ['CLOSED', 'CLOSED'],
      ['ABNORMAL', 'ABNORMAL'],
    ] as const;
    for (const [n, [result, ours]] of outcomes.entries()) {
      const submission = refundOf(outTradeNo, n, 500, 3000);
      const accepted = await refunds.submitRefund(submission);
      expect(accepted).toMatchObject({
        outTradeNo,
        outRefundNo: submission.outRefundNo,
        status: 'PROCESSING',
        appid: MERCHANT.appid,
        mchid: MERCHANT.mchid,
        amount: { refund: 500, total: 3000 },
      });
      expect(accepted.refundId).toMatch(/^\d{29,}$/);
      // The payment refunded, for the domain to match against the order's.
      expect(accepted.transactionId).toMatch(/^\d{28}$/);
      expect(await refunds.queryRefund(outTradeNo, submission.outRefundNo)).toMatchObject({ status: 'PROCESSING' });

      await complete(submission.outRefundNo, result);
      const queried = await refunds.queryRefund(outTradeNo, submission.outRefundNo);
      expect(queried).toMatchObject({
        outTradeNo,
        outRefundNo: submission.outRefundNo,
        status: ours,
        refundId: accepted.refundId,
        transactionId: accepted.transactionId,
        amount: { refund: 500, total: 3000 },
        mchid: MERCHANT.mchid,
        appid: MERCHANT.appid,
      });
      if (ours === 'SUCCESS') expect(queried.successTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
      else expect(queried).not.toHaveProperty('successTime');

      // The notification, decrypted by our codec, says what the query says (answering nothing of ours).
      const { answerTo, ...stated } = queried;
      expect(answerTo).toBe('query');
      expect(await notifiedReport(submission.outRefundNo, ours)).toEqual(stated);
    }
  });

  it('the same out_refund_no again is the same refund; another amount is a final REFUND_FEE_MISMATCH', async () => {
    const outTradeNo = await paidOrder(1000);
    const submission = refundOf(outTradeNo, 0, 400, 1000);
    const first = await refunds.submitRefund(submission);
    expect((await refunds.submitRefund(submission)).refundId).toBe(first.refundId);
    await expect(refunds.submitRefund({ ...submission, refund: 300 })).rejects.toMatchObject({
      constructor: ProviderError,
      code: 'REFUND_FEE_MISMATCH',
      retryable: false,
      kind: 'business',
    });
  });

  it('more than is left to refund is WeChat’s final refusal', async () => {
    const outTradeNo = await paidOrder(1000);
    await refunds.submitRefund(refundOf(outTradeNo, 0, 700, 1000));
    await expect(refunds.submitRefund(refundOf(outTradeNo, 1, 400, 1000))).rejects.toMatchObject({
      constructor: ProviderError,
      retryable: false,
      kind: 'business',
    });
  });

  it('an empty merchant balance (NOTENOUGH) is retryable, and the same refund goes through later', async () => {
    const outTradeNo = await paidOrder(1000);
    const fault = await fetch(`${sim.url}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api: 'notenough', out_trade_no: outTradeNo, times: 1 }),
    });
    expect(fault.status).toBe(200);
    const submission = refundOf(outTradeNo, 0, 100, 1000);
    await expect(refunds.submitRefund(submission)).rejects.toMatchObject({
      constructor: ProviderError,
      code: 'NOTENOUGH',
      retryable: true,
    });
    expect((await refunds.submitRefund(submission)).status).toBe('PROCESSING');
  });

  it('a refund WeChat does not know is NOT_FOUND', async () => {
    expect(await refunds.queryRefund('RFV2UNKNOWN', 'RFV2UNKNOWNR0')).toEqual({
      outTradeNo: 'RFV2UNKNOWN',
      outRefundNo: 'RFV2UNKNOWNR0',
      status: 'NOT_FOUND',
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      answerTo: 'query',
    });
  });

  it('a client certificate the simulator did not issue is refused as WeChat does: a ConfigurationError', async () => {
    const outTradeNo = await paidOrder(1000);
    const foreign = new WechatPayV2Refunds({
      baseUrl: sim.httpsUrl,
      ...MERCHANT,
      clientCertificate: CLIENT_CERTIFICATE,
      trustedCaPem: sim.tls.caCertPem,
      maxAttempts: 1,
    });
    await expect(foreign.submitRefund(refundOf(outTradeNo, 0, 100, 1000))).rejects.toBeInstanceOf(ConfigurationError);
    // Nothing was taken: the merchant's own certificate refunds the full amount.
    expect((await refunds.submitRefund(refundOf(outTradeNo, 1, 1000, 1000))).status).toBe('PROCESSING');
  });
});
