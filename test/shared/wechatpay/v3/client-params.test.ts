import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appClientParams, jsapiClientParams } from '#shared/wechatpay/v3/client-params';
import { toPrivateKey } from '#shared/wechatpay/v3/sign';
import { verifyAppClientParams, verifyJsapiClientParams } from '#shared/wechatpay/v3/testing/wechat-checks';
import { createMerchantIdentity, vectorById } from '#test/helpers/wechatpay-v3';

const goKeys = vectorById<{ id: string; private_key_pem_pkcs8: string; public_key_pem: string }>(
  'v3-rsa-sha256.json',
  'go-sha256withrsa-source',
);
const privateKey = toPrivateKey(goKeys.private_key_pem_pkcs8);
const publicKey = createPublicKey(goKeys.public_key_pem);
const rsaVerify = (message: string, signature: string) =>
  verify('sha256', Buffer.from(message), publicKey, Buffer.from(signature, 'base64'));

describe('client parameters re-signed with RSA', () => {
  it('JSAPI: paySign over appId, timeStamp, nonceStr, package, each line ended by \\n', () => {
    const params = jsapiClientParams({
      appid: 'wxd678efh567hg6787',
      prepayId: 'wx201410272009395522657a690389285100',
      privateKey,
      timestamp: '1414561699',
      nonce: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    });
    expect(params).toMatchObject({
      appId: 'wxd678efh567hg6787',
      timeStamp: '1414561699',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA',
    });
    const message =
      'wxd678efh567hg6787\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n' +
      'prepay_id=wx201410272009395522657a690389285100\n';
    expect(rsaVerify(message, params.paySign)).toBe(true);
    expect(verifyJsapiClientParams(params, publicKey)).toBe(true);
    expect(verifyJsapiClientParams({ ...params, package: 'prepay_id=other' }, publicKey)).toBe(false);
    expect(verifyJsapiClientParams(params, createMerchantIdentity().publicKey)).toBe(false);
  });

  it('APP: sign over appid, timestamp, noncestr, prepayid; package Sign=WXPay; partnerid = mchid', () => {
    const params = appClientParams({
      appid: 'wxd678efh567hg6787',
      mchid: '1230000109',
      prepayId: 'WX1217752501201407033233368018',
      privateKey,
      timestamp: '1624523846',
      nonce: 'A1B2C3D4E5F6G7',
    });
    expect(params).toMatchObject({
      appid: 'wxd678efh567hg6787',
      partnerid: '1230000109',
      prepayid: 'WX1217752501201407033233368018',
      package: 'Sign=WXPay',
      noncestr: 'A1B2C3D4E5F6G7',
      timestamp: '1624523846',
    });
    expect(
      rsaVerify('wxd678efh567hg6787\n1624523846\nA1B2C3D4E5F6G7\nWX1217752501201407033233368018\n', params.sign),
    ).toBe(true);
    expect(verifyAppClientParams(params, publicKey)).toBe(true);
    expect(verifyAppClientParams({ ...params, timestamp: '1624523847' }, publicKey)).toBe(false);
  });
});
