import { describe, expect, it } from 'vitest';

import { createWechatPay, NO_CLIENT_CERTIFICATE } from '#shared/app/wechatpay-adapters';
import { parseMerchantCredentials } from '#shared/config/merchant-credentials';
import { loadSettings } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import { makeP12, signedV2Xml, startCraftedServer } from '#test/helpers/wechatpay-v2';
import { createMerchantIdentity } from '#test/helpers/wechatpay-v3';

/** Built only: nothing here reaches WeChat. */
const settings = loadSettings({ TABLE_NAME: 'orders', LOG_LEVEL: 'SILENT', WECHATPAY_BASE_URL: 'http://127.0.0.1:9' });
const clock = { now: () => new Date() };
const V2 = { appid: 'wx0123456789abcdef', mchid: '1900000109', apiKey: '0123456789abcdef0123456789abcdef' };
const ca = createCertificateAuthority({ commonName: 'test CA' });
const apiclient = ca.issue({ commonName: V2.mchid, usage: 'client' });
const other = ca.issue({ commonName: V2.mchid, usage: 'client' });

const build = (fields: Record<string, unknown>) =>
  createWechatPay(parseMerchantCredentials({ ...V2, ...fields }, 'test'), settings, clock);

/** Whatever went wrong, a ConfigurationError that names the field and shows no key. */
async function refusal(fields: Record<string, unknown>): Promise<string> {
  const error: unknown = await build(fields).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  const message = (error as Error).message;
  expect(message).not.toMatch(/BEGIN|MII/);
  return message;
}

describe('the API client certificate is checked where the credentials become a WeChat Pay', () => {
  it('a certificate and key swapped is a ConfigurationError naming apiClientCert', async () => {
    const message = await refusal({ apiClientCert: apiclient.keyPem, apiClientKey: apiclient.certPem });
    expect(message).toMatch(/^apiClientCert: .*swapped/);
  });

  it('a key of another pair is a ConfigurationError naming apiClientKey', async () => {
    expect(await refusal({ apiClientCert: apiclient.certPem, apiClientKey: other.keyPem })).toMatch(
      /^apiClientKey: .*not one pair/,
    );
  });

  it('a p12 opened with the wrong password names apiClientP12Password; by default the mchid opens it', async () => {
    const byMchid = makeP12(apiclient, V2.mchid).toString('base64');
    await expect(build({ apiClientP12: byMchid })).resolves.toMatchObject({ merchant: { mchid: V2.mchid } });
    const byOther = makeP12(apiclient, 'another password').toString('base64');
    expect(await refusal({ apiClientP12: byOther })).toMatch(/^apiClientP12Password: .*password is wrong/);
    await expect(build({ apiClientP12: byOther, apiClientP12Password: 'another password' })).resolves.toBeDefined();
  });

  it('bytes that are no p12 name apiClientP12', async () => {
    const notP12 = Buffer.from('definitely not pkcs12').toString('base64');
    expect(await refusal({ apiClientP12: notP12 })).toMatch(/^apiClientP12: /);
  });

  it('a v2 merchant with a good pair can refund', async () => {
    const wechatPay = await build({ apiClientCert: apiclient.certPem, apiClientKey: apiclient.keyPem });
    expect(wechatPay.refundsUnavailable).toBeUndefined();
  });

  it('a v2 merchant without one takes payments; a refund is a ConfigurationError saying what to set', async () => {
    const wechatPay = await build({});
    expect(wechatPay.refundsUnavailable).toBe(NO_CLIENT_CERTIFICATE);
    const submission = {
      outTradeNo: 'T000123',
      outRefundNo: 'R1',
      refund: 1,
      total: 1,
      currency: 'CNY' as const,
      notifyUrl: 'https://pay.example.com/notify/refund',
    };
    await expect(wechatPay.refunds.submitRefund(submission)).rejects.toThrow(ConfigurationError);
    await expect(wechatPay.refunds.submitRefund(submission)).rejects.toThrow(/apiClientCert/);
  });

  it('a v2 merchant without one can still ask WeChat about refunds (refundquery needs no certificate)', async () => {
    const wechat = await startCraftedServer((req) => ({
      body: signedV2Xml(
        {
          return_code: 'SUCCESS',
          result_code: 'FAIL',
          err_code: 'REFUNDNOTEXIST',
          appid: req.fields.appid,
          mch_id: req.fields.mch_id,
          nonce_str: 'x',
        },
        V2.apiKey,
      ),
    }));
    try {
      const wechatPay = await createWechatPay(
        parseMerchantCredentials(V2, 'test'),
        loadSettings({ TABLE_NAME: 'orders', LOG_LEVEL: 'SILENT', WECHATPAY_BASE_URL: wechat.url }),
        clock,
      );
      expect(wechatPay.refundsUnavailable).toBe(NO_CLIENT_CERTIFICATE);
      expect(await wechatPay.refunds.queryRefund('T000123', 'R1')).toMatchObject({
        outTradeNo: 'T000123',
        outRefundNo: 'R1',
        status: 'NOT_FOUND',
      });
      expect(wechat.requests.map((r) => [r.path, r.fields.out_refund_no])).toEqual([['/pay/refundquery', 'R1']]);
    } finally {
      await wechat.close();
    }
  });
});

describe('refund notification codecs', () => {
  it('v2 merchants read unsigned (v2) refund notifications', async () => {
    const wechatPay = await build({});
    expect(wechatPay.refundCodecFor({ headers: {}, body: '<xml/>' }).apiVersion).toBe('v2');
  });

  it('v3 needs no client certificate; signed notifications get the v3 codec, others v2 (migrating)', async () => {
    const keys = createMerchantIdentity();
    const wechatPay = await build({
      apiVersion: 'v3',
      privateKey: keys.privateKeyPem,
      certSerial: keys.serial,
      apiV3Key: 'v'.repeat(32),
    });
    expect(wechatPay.refundsUnavailable).toBeUndefined();
    expect(wechatPay.refundCodecFor({ headers: { 'wechatpay-signature': 'x' }, body: '{}' }).apiVersion).toBe('v3');
    expect(wechatPay.refundCodecFor({ headers: {}, body: '<xml/>' }).apiVersion).toBe('v2');
  });
});
