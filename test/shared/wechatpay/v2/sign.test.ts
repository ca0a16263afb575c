import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { canonicalString, signTypeOf, signV2, verifyV2 } from '#shared/wechatpay/v2/sign';
import { v2SignVectors } from '#test/helpers/wechatpay-v2';

const CLASSIC = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};
const CLASSIC_KEY = '192006250b4c09247ec02edce69f6a2d';
const CLASSIC_MD5 = '9A0A8659F005D6984697E2CA0A9CF3B7';
const CLASSIC_HMAC = '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6';

describe('published v2 sign vectors (test/helpers/vectors/v2-sign.json)', () => {
  const vectors = v2SignVectors();
  const verified = vectors.filter((v) => v.verified === true);

  it('has the verified vectors to check', () => {
    expect(verified.length).toBeGreaterThanOrEqual(5);
    expect(verified.map((v) => v.sign_type)).toEqual(expect.arrayContaining(['MD5', 'HMAC-SHA256']));
  });

  it.each(vectors.map((v) => [v.id, v] as const))('%s: same string to sign, same sign, and it verifies', (_id, v) => {
    expect(`${canonicalString(v.params)}&key=${v.key}`).toBe(v.computed_stringSignTemp);
    expect(signV2(v.params, v.key, v.sign_type)).toBe(v.expected_sign);
    expect(verifyV2({ ...v.params, sign: v.expected_sign }, v.key)).toBe(true);
  });
});

describe('signV2', () => {
  it('gives WeChat’s classic documentation example in MD5 and HMAC-SHA256', () => {
    expect(signV2(CLASSIC, CLASSIC_KEY, 'MD5')).toBe(CLASSIC_MD5);
    expect(signV2(CLASSIC, CLASSIC_KEY, 'HMAC-SHA256')).toBe(CLASSIC_HMAC);
  });

  it('gives the mini program seed’s worked paySign example (seed 004)', () => {
    const params = {
      appId: 'wxd678efh567hg6787',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx2017033010242291fcfe0db70013231072',
      signType: 'MD5',
      timeStamp: '1490840662',
    };
    expect(signV2(params, 'qazwsxedcrfvtgbyhnujmikolp111111', 'MD5')).toBe('22D9B4E54AB1950F51E0649E8810ACD6');
  });

  it('defaults to MD5', () => {
    expect(signV2(CLASSIC, CLASSIC_KEY)).toBe(CLASSIC_MD5);
  });

  it('ignores sign, empty and undefined values, and the order the fields come in', () => {
    const shuffled = {
      nonce_str: CLASSIC.nonce_str,
      sign: 'WHATEVER',
      device_info: CLASSIC.device_info,
      empty: '',
      missing: undefined,
      body: CLASSIC.body,
      mch_id: CLASSIC.mch_id,
      appid: CLASSIC.appid,
    };
    expect(signV2(shuffled, CLASSIC_KEY, 'MD5')).toBe(CLASSIC_MD5);
  });

  it('sorts keys by ASCII code (upper case before lower case, _ between)', () => {
    expect(canonicalString({ b: '1', a_b: '2', B: '3', a: '4', aB: '5' })).toBe('B=3&a=4&aB=5&a_b=2&b=1');
  });

  it('keeps values verbatim: spaces, = and & inside values, leading zeros', () => {
    expect(canonicalString({ x: ' a=b&c ', y: '000123' })).toBe('x= a=b&c &y=000123');
  });

  it('hashes the UTF-8 bytes of Chinese text', () => {
    // "attach=中&key=k" written out as UTF-8 bytes: 中 is E4 B8 AD.
    const bytes = Buffer.concat([Buffer.from('attach='), Buffer.from([0xe4, 0xb8, 0xad]), Buffer.from('&key=k')]);
    const expected = createHash('md5').update(bytes).digest('hex').toUpperCase();
    expect(signV2({ attach: '中' }, 'k', 'MD5')).toBe(expected);
  });

  it('changes with the key and with every value', () => {
    const base = signV2(CLASSIC, CLASSIC_KEY, 'HMAC-SHA256');
    expect(signV2(CLASSIC, `${CLASSIC_KEY.slice(0, -1)}e`, 'HMAC-SHA256')).not.toBe(base);
    for (const key of Object.keys(CLASSIC) as Array<keyof typeof CLASSIC>) {
      expect(signV2({ ...CLASSIC, [key]: `${CLASSIC[key]}x` }, CLASSIC_KEY, 'HMAC-SHA256')).not.toBe(base);
    }
  });
});

describe('signTypeOf', () => {
  it('tells MD5 from HMAC-SHA256 by the signature’s form', () => {
    expect(signTypeOf(CLASSIC_MD5)).toBe('MD5');
    expect(signTypeOf(CLASSIC_HMAC)).toBe('HMAC-SHA256');
    expect(signTypeOf(CLASSIC_MD5.toLowerCase())).toBe('MD5');
  });

  it.each([
    '',
    'abc',
    CLASSIC_MD5.slice(1),
    `${CLASSIC_MD5}0`,
    `${CLASSIC_HMAC}0`,
    'G'.repeat(32),
    ` ${CLASSIC_MD5.slice(1)}`,
  ])('recognises nothing in %j', (sign) => {
    expect(signTypeOf(sign)).toBeUndefined();
  });
});

describe('verifyV2', () => {
  const md5Signed = { ...CLASSIC, sign: CLASSIC_MD5 };
  const hmacSigned = { ...CLASSIC, sign: CLASSIC_HMAC };

  it('accepts either algorithm, chosen by the signature’s length, whatever the merchant’s setting', () => {
    expect(verifyV2(md5Signed, CLASSIC_KEY)).toBe(true);
    expect(verifyV2(hmacSigned, CLASSIC_KEY)).toBe(true);
  });

  it('ignores a sign_type field that disagrees with the signature’s form', () => {
    const params = { ...CLASSIC, sign_type: 'HMAC-SHA256' };
    expect(verifyV2({ ...params, sign: signV2(params, CLASSIC_KEY, 'MD5') }, CLASSIC_KEY)).toBe(true);
  });

  it('accepts a lower-case hex signature (the same digest)', () => {
    expect(verifyV2({ ...CLASSIC, sign: CLASSIC_MD5.toLowerCase() }, CLASSIC_KEY)).toBe(true);
    expect(verifyV2({ ...CLASSIC, sign: CLASSIC_HMAC.toLowerCase() }, CLASSIC_KEY)).toBe(true);
  });

  it('refuses a tampered value, an added field and a removed field', () => {
    expect(verifyV2({ ...md5Signed, body: 'tesT' }, CLASSIC_KEY)).toBe(false);
    expect(verifyV2({ ...hmacSigned, total_fee: '1' }, CLASSIC_KEY)).toBe(false);
    const { device_info: _dropped, ...withoutDevice } = hmacSigned;
    expect(verifyV2(withoutDevice, CLASSIC_KEY)).toBe(false);
  });

  it('refuses a signature made with another key', () => {
    expect(verifyV2(md5Signed, 'k'.repeat(32))).toBe(false);
    expect(verifyV2(hmacSigned, CLASSIC_KEY.toUpperCase())).toBe(false);
  });

  it('refuses a tampered signature', () => {
    const flipped = `${CLASSIC_MD5.slice(0, -1)}${CLASSIC_MD5.endsWith('7') ? '8' : '7'}`;
    expect(verifyV2({ ...CLASSIC, sign: flipped }, CLASSIC_KEY)).toBe(false);
  });

  it('refuses a missing or empty signature', () => {
    expect(verifyV2(CLASSIC, CLASSIC_KEY)).toBe(false);
    expect(verifyV2({ ...CLASSIC, sign: '' }, CLASSIC_KEY)).toBe(false);
    expect(verifyV2({ ...CLASSIC, sign: undefined }, CLASSIC_KEY)).toBe(false);
  });

  it('refuses signatures of the wrong form without throwing', () => {
    for (const sign of ['x', CLASSIC_HMAC.slice(0, 32), `${CLASSIC_MD5} `, 'Z'.repeat(64), CLASSIC_HMAC.slice(0, 63)]) {
      expect(verifyV2({ ...CLASSIC, sign }, CLASSIC_KEY)).toBe(false);
    }
  });
});
