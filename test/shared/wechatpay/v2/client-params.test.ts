import { describe, expect, it } from 'vitest';

import { unixTimestamp } from '#shared/wechatpay/core/clock';
import { appClientParams, jsapiClientParams } from '#shared/wechatpay/v2/client-params';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { v2SignVectors } from '#test/helpers/wechatpay-v2';

const vectors = v2SignVectors();
const jsapiVectors = vectors.filter((v) => 'package' in v.params && v.params.package?.startsWith('prepay_id='));
const appVector = vectors.find((v) => v.params.package === 'Sign=WXPay');

describe('jsapiClientParams (JSAPI / mini program requestPayment)', () => {
  it('has the JSAPI and mini program vectors to check', () => {
    expect(jsapiVectors.map((v) => v.id)).toEqual(
      expect.arrayContaining([
        'jsapi-paysign-md5-easywechat',
        'jsapi-paysign-hmac-easywechat',
        'miniprogram-paysign-official',
      ]),
    );
  });

  it.each(jsapiVectors.map((v) => [v.id, v] as const))('%s gives the published paySign', (_id, v) => {
    const params = jsapiClientParams({
      appid: v.params.appId as string,
      prepayId: (v.params.package as string).slice('prepay_id='.length),
      apiKey: v.key,
      signType: v.sign_type,
      nonce: v.params.nonceStr as string,
      timestamp: v.params.timeStamp as string,
    });
    expect(params).toEqual({ ...v.params, paySign: v.expected_sign });
  });

  it('gives the mini program seed’s worked example (seed 004)', () => {
    expect(
      jsapiClientParams({
        appid: 'wxd678efh567hg6787',
        prepayId: 'wx2017033010242291fcfe0db70013231072',
        apiKey: 'qazwsxedcrfvtgbyhnujmikolp111111',
        signType: 'MD5',
        nonce: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
        timestamp: '1490840662',
      }),
    ).toEqual({
      appId: 'wxd678efh567hg6787',
      timeStamp: '1490840662',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx2017033010242291fcfe0db70013231072',
      signType: 'MD5',
      paySign: '22D9B4E54AB1950F51E0649E8810ACD6',
    });
  });

  it('signs with the order’s sign type, naming it in signType', () => {
    const input = { appid: 'wxa', prepayId: 'wx1', apiKey: 'k'.repeat(32), nonce: 'n1', timestamp: '1700000000' };
    const hmac = jsapiClientParams({ ...input, signType: 'HMAC-SHA256' });
    expect(hmac.signType).toBe('HMAC-SHA256');
    expect(hmac.paySign).toMatch(/^[0-9A-F]{64}$/);
    const md5 = jsapiClientParams({ ...input, signType: 'MD5' });
    expect(md5.paySign).toMatch(/^[0-9A-F]{32}$/);
    const { paySign, ...rest } = hmac;
    expect(verifyV2({ ...rest, sign: paySign }, 'k'.repeat(32))).toBe(true);
  });
});

describe('appClientParams (APP SDK PayReq)', () => {
  it('gives the derived APP vector', () => {
    expect(appVector).toBeDefined();
    const v = appVector!;
    const params = appClientParams({
      appid: v.params.appid as string,
      mchid: v.params.partnerid as string,
      prepayId: v.params.prepayid as string,
      apiKey: v.key,
      signType: v.sign_type,
      nonce: v.params.noncestr as string,
      timestamp: v.params.timestamp as string,
    });
    expect(params).toEqual({ ...v.params, sign: v.expected_sign });
    expect(Object.keys(params).sort()).toEqual([
      'appid',
      'noncestr',
      'package',
      'partnerid',
      'prepayid',
      'sign',
      'timestamp',
    ]);
  });

  it('signs lower-case keys with package Sign=WXPay, verifiable by WeChat', () => {
    const params = appClientParams({
      appid: 'wxd930ea5d5a258f4f',
      mchid: '10000100',
      prepayId: 'wx201410272009395522657a690389285100',
      apiKey: '192006250b4c09247ec02edce69f6a2d',
      signType: 'HMAC-SHA256',
      nonce: 'abc',
      timestamp: '1412000000',
    });
    expect(params.package).toBe('Sign=WXPay');
    expect(params.partnerid).toBe('10000100');
    expect(verifyV2(params, '192006250b4c09247ec02edce69f6a2d')).toBe(true);
    expect(verifyV2({ ...params, prepayid: 'wx2' }, '192006250b4c09247ec02edce69f6a2d')).toBe(false);
  });
});

describe('inputs', () => {
  const base = {
    appid: 'wxa',
    prepayId: 'wx1',
    apiKey: 'k'.repeat(32),
    signType: 'MD5' as const,
    nonce: 'n1',
    timestamp: '1700000000',
  };

  it.each([
    ['a millisecond-looking float', { timestamp: '1700000000.5' }],
    ['an empty timestamp', { timestamp: '' }],
    ['a nonce over 32', { nonce: 'n'.repeat(33) }],
    ['a nonce with symbols', { nonce: 'a&b=c' }],
    ['an empty prepay id', { prepayId: '' }],
  ])('refuses %s', (_name, change) => {
    expect(() => jsapiClientParams({ ...base, ...change })).toThrow(RangeError);
    expect(() => appClientParams({ ...base, mchid: '1', ...change })).toThrow(RangeError);
  });

  it('unixTimestamp is whole seconds as text', () => {
    expect(unixTimestamp(new Date('2017-03-30T02:24:22.999Z'))).toBe('1490840662');
  });
});
