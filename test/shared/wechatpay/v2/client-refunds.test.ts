import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayError, WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { exchange } from '#shared/wechatpay/core/http-exchange';
import { tlsFetch } from '#shared/wechatpay/core/tls-fetch';
import type { TlsOptions } from '#shared/wechatpay/core/tls-fetch';
import { certificateAlertAsRefusal } from '#shared/wechatpay/v2/error-codes';
import { WechatPayV2Client } from '#shared/wechatpay/v2/client';
import type { V2RefundRequest, WechatPayV2ClientOptions } from '#shared/wechatpay/v2/client';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { toXml } from '#shared/wechatpay/v2/xml';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import type { CertificateAuthority, IssuedCertificate } from '#shared/wechatpay/testing/certificate-authority';
import type { CraftedAnswer, CraftedRequest, CraftedServer } from '#test/helpers/wechatpay-v2';
import { makeP12, signedV2Xml, startCraftedServer } from '#test/helpers/wechatpay-v2';

/**
 * Refunds over real HTTPS against a loopback server that asks for a client certificate (as WeChat's
 * /secapi/ front end does) and answers crafted bytes.
 */

const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
let clientCert: IssuedCertificate;
let server: CraftedServer | undefined;

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: 'Refund test CA' });
  serverCert = ca.issue({ commonName: 'api', ipAddresses: ['127.0.0.1'], usage: 'server' });
  clientCert = ca.issue({ commonName: MERCHANT.mchid, usage: 'client' });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const NGINX_NO_CERT =
  '<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad ' +
  'Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n' +
  '</body>\r\n</html>\r\n';

function signed(req: CraftedRequest, extra: Record<string, string | undefined>, key = MERCHANT.apiKey): CraftedAnswer {
  const fields = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: req.fields.appid,
    mch_id: req.fields.mch_id,
    nonce_str: 'NfsMFbUFpdbEhPXP',
    result_code: 'SUCCESS',
    ...extra,
  };
  return { body: signedV2Xml(fields, key, req.fields.sign_type === 'MD5' ? 'MD5' : 'HMAC-SHA256') };
}

/** WeChat's acceptance of the refund asked for. */
function accepted(req: CraftedRequest, extra: Record<string, string | undefined> = {}): CraftedAnswer {
  return signed(req, {
    transaction_id: '4200000712202011200000000001',
    out_trade_no: req.fields.out_trade_no,
    out_refund_no: req.fields.out_refund_no,
    refund_id: '50300906162020112004640961234',
    refund_fee: req.fields.refund_fee,
    total_fee: req.fields.total_fee,
    cash_fee: req.fields.total_fee,
    cash_refund_fee: req.fields.refund_fee,
    coupon_refund_fee: '0',
    ...extra,
  });
}

/** As WeChat's front end: /secapi/ without a certificate its CA verifies is an nginx HTML 400. */
function asWechat(answer: (req: CraftedRequest, index: number) => CraftedAnswer) {
  return (req: CraftedRequest, index: number): CraftedAnswer =>
    req.path.startsWith('/secapi/') && req.clientCertificateCN === undefined
      ? { status: 400, headers: { 'content-type': 'text/html' }, body: NGINX_NO_CERT }
      : answer(req, index);
}

async function clientFor(
  answer: (req: CraftedRequest, index: number) => CraftedAnswer,
  options: Partial<WechatPayV2ClientOptions> = {},
): Promise<{ client: WechatPayV2Client; server: CraftedServer; sleeps: number[] }> {
  server = await startCraftedServer(asWechat(answer), { ...serverCert, clientCaPem: ca.certPem });
  const sleeps: number[] = [];
  const client = new WechatPayV2Client({
    baseUrl: server.url,
    ...MERCHANT,
    trustedCaPem: ca.certPem,
    clientCertificate: { certPem: clientCert.certPem, keyPem: clientCert.keyPem },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, server, sleeps };
}

const REFUND: V2RefundRequest = {
  out_trade_no: '1217752501201407033233368018',
  out_refund_no: 'R-2024|0001@a*b',
  total_fee: 1000,
  refund_fee: 300,
  refund_desc: '商品已售完',
  notify_url: 'https://merchant.example.com/notify/refund',
};

async function failure(promise: Promise<unknown>): Promise<WechatPayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WechatPayError);
  return err as WechatPayError;
}

describe('refund (secapi/pay/refund over mutual TLS)', () => {
  it('sends a signed request with WeChat’s field names, presenting the merchant certificate', async () => {
    const { client, server } = await clientFor((req) => accepted(req));
    const answer = await client.refund(REFUND);
    const [req] = server.requests;
    expect(server.requests).toHaveLength(1);
    expect(req?.path).toBe('/secapi/pay/refund');
    expect(req?.clientCertificateCN).toBe(MERCHANT.mchid);
    expect(verifyV2(req?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
    expect(req?.fields).toMatchObject({
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      sign_type: 'HMAC-SHA256',
      out_trade_no: REFUND.out_trade_no,
      out_refund_no: REFUND.out_refund_no,
      total_fee: '1000',
      refund_fee: '300',
      refund_desc: '商品已售完',
      notify_url: REFUND.notify_url,
    });
    expect(req?.fields.transaction_id).toBeUndefined();
    expect(answer).toMatchObject({
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      out_refund_no: REFUND.out_refund_no,
      refund_id: '50300906162020112004640961234',
      out_trade_no: REFUND.out_trade_no,
      transaction_id: '4200000712202011200000000001',
      refund_fee: 300,
      total_fee: 1000,
      cash_refund_fee: 300,
      coupon_refund_fee: 0,
    });
  });

  it('presents a p12 (password = mchid) just as well', async () => {
    const p12 = makeP12(clientCert, MERCHANT.mchid);
    const { client, server } = await clientFor((req) => accepted(req), {
      clientCertificate: { p12, passphrase: MERCHANT.mchid },
    });
    await expect(
      client.refund({ ...REFUND, out_trade_no: undefined, transaction_id: '4200000712202011200000000001' }),
    ).resolves.toMatchObject({ refund_fee: 300 });
    expect(server.requests[0]?.clientCertificateCN).toBe(MERCHANT.mchid);
    expect(server.requests[0]?.fields.transaction_id).toBe('4200000712202011200000000001');
  });

  it('refuses to refund without a certificate, or with an unusable one, sending nothing', async () => {
    const { server } = await clientFor((req) => accepted(req));
    const none = new WechatPayV2Client({ baseUrl: server.url, ...MERCHANT, trustedCaPem: ca.certPem });
    const swapped = new WechatPayV2Client({
      baseUrl: server.url,
      ...MERCHANT,
      clientCertificate: { certPem: clientCert.keyPem, keyPem: clientCert.certPem },
    });
    await expect(none.refund(REFUND)).rejects.toMatchObject({
      name: 'WechatPayValidationError',
      field: 'clientCertificate',
    });
    expect(() => none.checkRefund(REFUND)).toThrow(WechatPayValidationError);
    await expect(swapped.refund(REFUND)).rejects.toThrow(/swapped/);
    expect(server.requests).toHaveLength(0);
  });

  it('turns WeChat’s nginx 400 for a refused certificate into CERT_REFUSED, final and not retried', async () => {
    const stranger = createCertificateAuthority().issue({ commonName: MERCHANT.mchid, usage: 'client' });
    const { client, server } = await clientFor((req) => accepted(req), {
      clientCertificate: { certPem: stranger.certPem, keyPem: stranger.keyPem },
    });
    const err = await failure(client.refund(REFUND));
    expect(err.code).toBe('CERT_REFUSED');
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(400);
    expect(err.message).toMatch(/No required SSL certificate was sent/);
    expect(server.requests).toHaveLength(1);
  });

  it('turns a TLS alert refusing the certificate into CERT_REFUSED; a dropped connection stays NETWORK', async () => {
    const strict = createServer(
      { cert: serverCert.certPem, key: serverCert.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (_req, res) => res.end('never'),
    );
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(strict.address() as AddressInfo).port}/secapi/pay/refund`;
      // The real failures: no certificate (TLS 1.3 alert "certificate required"), and one from
      // another CA (Node's server just drops the connection).
      const networkFailure = async (tls: TlsOptions): Promise<WechatPayError> =>
        failure(
          exchange({ method: 'POST', url, headers: {} }, { fetch: tlsFetch(tls), timeoutMs: 5000 }, async () => 0),
        );
      const alerted = certificateAlertAsRefusal(await networkFailure({ caPem: ca.certPem }));
      expect(alerted).toMatchObject({ code: 'CERT_REFUSED', retryable: false });
      const stranger = createCertificateAuthority().issue({ commonName: MERCHANT.mchid, usage: 'client' });
      const dropped = certificateAlertAsRefusal(await networkFailure({ caPem: ca.certPem, ...stranger }));
      expect(dropped).toMatchObject({ code: 'NETWORK', retryable: true });
    } finally {
      strict.closeAllConnections();
      await new Promise((resolve) => strict.close(resolve));
    }
  });

  it('retries SYSTEMERROR and BIZERR_NEED_RETRY at once with the same signed bytes', async () => {
    const codes = ['SYSTEMERROR', 'BIZERR_NEED_RETRY'];
    const { client, server } = await clientFor((req, i) =>
      i < 2 ? signed(req, { result_code: 'FAIL', err_code: codes[i], err_code_des: '系统超时' }) : accepted(req),
    );
    await expect(client.refund(REFUND)).resolves.toMatchObject({ refund_id: '50300906162020112004640961234' });
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
  });

  it('gives "later" refusals back retryable, not retried by itself (NOTENOUGH, rate limits, not ready)', async () => {
    for (const code of ['NOTENOUGH', 'FREQUENCY_LIMITED', 'INVALID_REQ_TOO_MUCH', 'ORDER_NOT_READY']) {
      const { client, server } = await clientFor((req) => signed(req, { result_code: 'FAIL', err_code: code }));
      const err = await failure(client.refund(REFUND));
      expect([err.code, err.retryable, err.kind]).toEqual([code, true, 'business']);
      expect(server.requests).toHaveLength(1);
      await server.close();
    }
  });

  it('other refusals are final (REFUND_FEE_MISMATCH, INVALID_REQUEST, ERROR, TRADE_OVERDUE, CERT_ERROR)', async () => {
    for (const code of ['REFUND_FEE_MISMATCH', 'INVALID_REQUEST', 'ERROR', 'TRADE_OVERDUE', 'CERT_ERROR']) {
      const { client, server } = await clientFor((req) =>
        signed(req, {
          result_code: 'FAIL',
          err_code: code,
          err_code_des: '订单金额或退款金额与之前请求不一致,请核实后再试',
        }),
      );
      const err = await failure(client.refund(REFUND));
      expect([err.code, err.rawCode, err.retryable, err.kind]).toEqual([code, code, false, 'business']);
      expect(server.requests).toHaveLength(1);
      await server.close();
    }
  });

  it('reads return_code FAIL as other calls do: empty balance retryable later, invalid refund_fee final', async () => {
    const { client } = await clientFor((req) =>
      req.fields.refund_fee === '300'
        ? { body: toXml({ return_code: 'FAIL', return_msg: '基本账户余额不足，请充值后重新发起' }) }
        : { body: toXml({ return_code: 'FAIL', return_msg: 'invalid refund_fee' }) },
    );
    const broke = await failure(client.refund(REFUND));
    expect([broke.code, broke.retryable]).toEqual(['NOTENOUGH', true]);
    expect(server?.requests).toHaveLength(1);
    const invalid = await failure(client.refund({ ...REFUND, refund_fee: 301 }));
    expect([invalid.code, invalid.retryable]).toEqual(['RETURN_FAIL', false]);
  });

  it('trusts no unsigned or wrongly signed acceptance, nor one about another refund or merchant', async () => {
    const cases: Array<[(req: CraftedRequest) => CraftedAnswer, string]> = [
      [
        (req) => ({
          body: toXml({ return_code: 'SUCCESS', result_code: 'SUCCESS', out_refund_no: req.fields.out_refund_no }),
        }),
        'INVALID_SIGNATURE',
      ],
      [
        (req) =>
          signed(req, { out_refund_no: req.fields.out_refund_no, refund_id: '1', refund_fee: '300' }, 'x'.repeat(32)),
        'INVALID_SIGNATURE',
      ],
      [(req) => accepted(req, { out_refund_no: 'another' }), 'INVALID_RESPONSE'],
      [(req) => accepted(req, { refund_fee: '1000' }), 'INVALID_RESPONSE'],
      [(req) => accepted(req, { mch_id: '99999999' }), 'INVALID_RESPONSE'],
      [(req) => accepted(req, { refund_id: undefined }), 'INVALID_RESPONSE'],
      [(req) => accepted(req, { total_fee: '10.00' }), 'INVALID_RESPONSE'],
    ];
    for (const [answer, code] of cases) {
      const { client, server } = await clientFor(answer);
      const err = await failure(client.refund(REFUND));
      expect(err.code).toBe(code);
      expect(server.requests).toHaveLength(1);
      await server.close();
    }
  });

  it('validates the request before anything is sent', async () => {
    const { client, server } = await clientFor((req) => accepted(req));
    const bad: Array<[Partial<V2RefundRequest>, string]> = [
      [{ refund_fee: 1001 }, 'refund_fee'],
      [{ refund_fee: 0 }, 'refund_fee'],
      [{ total_fee: 10.5 }, 'total_fee'],
      [{ transaction_id: '4200000712202011200000000001' }, 'out_trade_no'],
      [{ out_trade_no: undefined }, 'out_trade_no'],
      [{ out_refund_no: 'has space' }, 'out_refund_no'],
      [{ out_refund_no: 'x'.repeat(65) }, 'out_refund_no'],
      [{ refund_desc: '退'.repeat(81) }, 'refund_desc'],
      [{ notify_url: 'https://merchant.example.com/notify?x=1' }, 'notify_url'],
    ];
    for (const [change, field] of bad) {
      await expect(client.refund({ ...REFUND, ...change })).rejects.toMatchObject({
        name: 'WechatPayValidationError',
        field,
      });
    }
    await expect(
      client.refund({ ...REFUND, refund_desc: '退'.repeat(80), out_refund_no: 'x'.repeat(64) }),
    ).resolves.toBeDefined();
    expect(server.requests).toHaveLength(1);
  });
});

/** refundquery's answer fields for records given as [out_refund_no, status, fee, extra]. */
function queryAnswer(
  req: CraftedRequest,
  records: Array<[string, string, number, Record<string, string>?]>,
  extra: Record<string, string | undefined> = {},
): CraftedAnswer {
  const fields: Record<string, string | undefined> = {
    out_trade_no: '1217752501201407033233368018',
    transaction_id: '4200000712202011200000000001',
    total_fee: '1000',
    cash_fee: '1000',
    refund_count: String(records.length),
    ...extra,
  };
  records.forEach(([outRefundNo, status, fee, more], n) => {
    fields[`out_refund_no_${n}`] = outRefundNo;
    fields[`refund_id_${n}`] = `5030090616202011200464096123${n}`;
    fields[`refund_fee_${n}`] = String(fee);
    fields[`refund_status_${n}`] = status;
    fields[`refund_channel_${n}`] = 'ORIGINAL';
    for (const [k, v] of Object.entries(more ?? {})) fields[`${k}_${n}`] = v;
  });
  return signed(req, fields);
}

describe('refundQuery (pay/refundquery, no certificate)', () => {
  it('decodes the paged _$n records, amounts as integers, and sends no client certificate', async () => {
    const { client, server } = await clientFor((req) =>
      queryAnswer(
        req,
        [
          ['R1', 'SUCCESS', 300, { refund_success_time: '2024-11-20 10:00:01', refund_recv_accout: '支付用户零钱' }],
          ['R2', 'PROCESSING', 200],
          ['R3', 'CHANGE', 100],
          ['R4', 'REFUNDCLOSE', 50],
        ],
        { total_refund_count: '4' },
      ),
    );
    const answer = await client.refundQuery({ out_trade_no: '1217752501201407033233368018', offset: 0 });
    const [req] = server.requests;
    expect(req?.path).toBe('/pay/refundquery');
    expect(req?.clientCertificateCN).toBeUndefined();
    expect(req?.fields).toMatchObject({ out_trade_no: '1217752501201407033233368018', offset: '0' });
    expect(verifyV2(req?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
    expect(answer).toMatchObject({
      out_trade_no: '1217752501201407033233368018',
      transaction_id: '4200000712202011200000000001',
      total_fee: 1000,
      total_refund_count: 4,
    });
    expect(answer.refunds).toEqual([
      {
        out_refund_no: 'R1',
        refund_id: '50300906162020112004640961230',
        refund_fee: 300,
        refund_status: 'SUCCESS',
        refund_success_time: '2024-11-20 10:00:01',
        refund_recv_accout: '支付用户零钱',
        refund_channel: 'ORIGINAL',
      },
      expect.objectContaining({ out_refund_no: 'R2', refund_status: 'PROCESSING', refund_fee: 200 }),
      expect.objectContaining({ out_refund_no: 'R3', refund_status: 'CHANGE' }),
      expect.objectContaining({ out_refund_no: 'R4', refund_status: 'REFUNDCLOSE' }),
    ]);
  });

  it('queries by out_refund_no, and says REFUNDNOTEXIST (final) for a refund WeChat does not know', async () => {
    const { client, server } = await clientFor((req) =>
      req.fields.out_refund_no === 'R1'
        ? queryAnswer(req, [['R1', 'PROCESSING', 300]])
        : signed(req, { result_code: 'FAIL', err_code: 'REFUNDNOTEXIST', err_code_des: 'not exist' }),
    );
    await expect(client.refundQuery({ out_refund_no: 'R1' })).resolves.toMatchObject({
      refunds: [{ out_refund_no: 'R1', refund_status: 'PROCESSING' }],
    });
    const err = await failure(client.refundQuery({ out_refund_no: 'R9' }));
    expect([err.code, err.retryable, err.kind]).toEqual(['REFUNDNOTEXIST', false, 'business']);
    expect(server.requests).toHaveLength(2);
  });

  it('retries SYSTEMERROR, then reads the answer', async () => {
    const { client, server } = await clientFor((req, i) =>
      i === 0
        ? signed(req, { result_code: 'FAIL', err_code: 'SYSTEMERROR' })
        : queryAnswer(req, [['R1', 'SUCCESS', 1]]),
    );
    await expect(client.refundQuery({ out_refund_no: 'R1' })).resolves.toMatchObject({ refunds: [{ refund_fee: 1 }] });
    expect(server.requests).toHaveLength(2);
  });

  it('refuses answers it cannot read: an unknown status, a missing record, a bad time, another order', async () => {
    const cases: Array<(req: CraftedRequest) => CraftedAnswer> = [
      (req) => queryAnswer(req, [['R1', 'REFUNDED', 300]]),
      (req) => queryAnswer(req, [['R2', 'SUCCESS', 300]]),
      (req) => queryAnswer(req, [['R1', 'SUCCESS', 300, { refund_success_time: '20241120100001' }]]),
      (req) => queryAnswer(req, [['R1', 'SUCCESS', 300]], { refund_count: '2' }),
      (req) => queryAnswer(req, [['R1', 'SUCCESS', 300]], { total_fee: undefined }),
    ];
    for (const answer of cases) {
      const { client, server } = await clientFor(answer);
      const err = await failure(client.refundQuery({ out_refund_no: 'R1' }));
      expect([err.code, err.retryable]).toEqual(['INVALID_RESPONSE', false]);
      await server.close();
    }
    const { client } = await clientFor((req) => queryAnswer(req, [['R1', 'SUCCESS', 300]], { out_trade_no: 'other' }));
    await expect(client.refundQuery({ out_trade_no: '1217752501201407033233368018' })).rejects.toMatchObject({
      code: 'INVALID_RESPONSE',
    });
  });

  it('asks by exactly one identifier', async () => {
    const { client, server } = await clientFor((req) => queryAnswer(req, []));
    await expect(client.refundQuery({})).rejects.toBeInstanceOf(WechatPayValidationError);
    await expect(client.refundQuery({ out_refund_no: 'R1', out_trade_no: 'T1' })).rejects.toBeInstanceOf(
      WechatPayValidationError,
    );
    await expect(client.refundQuery({ out_trade_no: 'T1', offset: -1 })).rejects.toMatchObject({ field: 'offset' });
    expect(server.requests).toHaveLength(0);
  });
});
