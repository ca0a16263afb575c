import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUTHORIZATION_SCHEME,
  formatAuthorization,
  requestSignMessage,
  signRequest,
} from '#shared/wechatpay/v3/authorization';
import { toPrivateKey } from '#shared/wechatpay/v3/sign';
import { parseAuthorization, verifyAuthorization } from '#shared/wechatpay/v3/testing/wechat-checks';
import { createMerchantIdentity, vectorById } from '#test/helpers/wechatpay-v3';

interface AuthVector {
  id: string;
  method?: string;
  canonical_url?: string;
  timestamp?: string;
  nonce_str?: string;
  mchid?: string;
  serial_no?: string;
  body?: string;
  message_to_sign?: string;
  expected_header?: string;
  signature?: string;
  authorization?: string;
  header_example?: string;
  verified: boolean | string;
}

const goKeys = vectorById<{ id: string; private_key_pem_pkcs8: string; public_key_pem: string }>(
  'v3-rsa-sha256.json',
  'go-sha256withrsa-source',
);
const merchant = createMerchantIdentity();

describe('Authorization header (published vectors)', () => {
  const derived = vectorById<AuthVector>('v3-authorization-header.json', 'derived-jsapi-prepay-authorization');

  it('builds the verified JSAPI prepay header exactly', () => {
    const request = { method: derived.method!, url: derived.canonical_url!, body: derived.body! };
    expect(requestSignMessage(request, derived.timestamp!, derived.nonce_str!)).toBe(derived.message_to_sign);
    const header = signRequest(
      request,
      { mchid: derived.mchid!, serialNo: derived.serial_no!, privateKey: toPrivateKey(goKeys.private_key_pem_pkcs8) },
      derived.timestamp!,
      derived.nonce_str!,
    );
    expect(header).toBe(derived.authorization);
  });

  it('verifies that header as WeChat would, with the clock at its timestamp', () => {
    const check = verifyAuthorization(
      { method: 'POST', url: derived.canonical_url!, body: derived.body!, authorization: derived.authorization },
      {
        publicKey: createPublicKey(goKeys.public_key_pem),
        mchid: derived.mchid!,
        serialNo: derived.serial_no!,
        now: new Date(1624523846_000),
      },
    );
    expect(check).toEqual({
      ok: true,
      fields: expect.objectContaining({ signature: derived.signature, mchid: derived.mchid }),
    });
  });

  it('reads the go mock-signer headers: pairs in another order, the exact message as signature', () => {
    for (const id of ['go-credentials-mock-get', 'go-credentials-mock-post']) {
      const v = vectorById<AuthVector>('v3-authorization-header.json', id);
      const message = requestSignMessage(
        { method: v.method!, url: v.canonical_url!, body: v.body! },
        v.timestamp!,
        v.nonce_str!,
      );
      expect(message).toBe(v.message_to_sign);
      const parsed = parseAuthorization(v.expected_header!);
      expect(parsed).toEqual({
        scheme: 'WECHATPAY2-Mock',
        fields: {
          mchid: v.mchid,
          nonce_str: v.nonce_str,
          timestamp: v.timestamp,
          serial_no: v.serial_no,
          signature: `Sign:${message}`,
        },
      });
    }
  });

  it('reads the axios-plugin ordering and the community example', () => {
    const axios = vectorById<AuthVector>('v3-authorization-header.json', 'axios-plugin-formatter-order');
    expect(parseAuthorization(axios.expected_header!)).toEqual({
      scheme: AUTHORIZATION_SCHEME,
      fields: { mchid: '1', nonce_str: '2', signature: '3', timestamp: '4', serial_no: '5' },
    });
    const community = vectorById<AuthVector>('v3-authorization-header.json', 'wechat-community-real-shape');
    expect(parseAuthorization(community.header_example!)?.fields).toEqual({
      mchid: '1531113361',
      nonce_str: 'togiz2ig.ccl',
      timestamp: '1623918286',
      serial_no: '32F904B369C2CEA9D44BEFBF4D6A8CA178CEC921',
      signature: 'DUPuhcJ5...',
    });
  });

  it('formats in the documented order and parses back to the same fields', () => {
    const fields = {
      mchid: '1900000109',
      nonce_str: 'N1',
      signature: 'S=',
      timestamp: '1700000000',
      serial_no: 'AB12',
    };
    const header = formatAuthorization(fields);
    expect(header).toBe(
      'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="N1",signature="S=",' +
        'timestamp="1700000000",serial_no="AB12"',
    );
    expect(parseAuthorization(header)).toEqual({ scheme: AUTHORIZATION_SCHEME, fields });
  });

  it('refuses malformed headers', () => {
    const ok = 'mchid="1",nonce_str="2",signature="3",timestamp="4",serial_no="5"';
    expect(parseAuthorization(`${AUTHORIZATION_SCHEME} ${ok}`)).toBeDefined();
    expect(parseAuthorization(`${AUTHORIZATION_SCHEME} ${ok},mchid="9"`)).toBeUndefined(); // duplicate
    const missingSerial = ok.replace(',serial_no="5"', '');
    expect(parseAuthorization(`${AUTHORIZATION_SCHEME} ${missingSerial}`)).toBeUndefined();
    expect(
      parseAuthorization(`${AUTHORIZATION_SCHEME} ${ok.replace('timestamp="4"', 'timestamp="soon"')}`),
    ).toBeUndefined();
    expect(parseAuthorization(`${AUTHORIZATION_SCHEME} mchid=1`)).toBeUndefined();
    expect(parseAuthorization(AUTHORIZATION_SCHEME)).toBeUndefined();
  });
});

describe('Authorization header (own key, both ways)', () => {
  const now = new Date('2024-05-01T08:00:00Z');
  const timestamp = String(now.getTime() / 1000);
  const request = { method: 'POST', url: '/v3/pay/transactions/native', body: '{"amount":{"total":1}}' };
  const header = signRequest(
    request,
    { mchid: merchant.mchid, serialNo: merchant.serial, privateKey: merchant.privateKey },
    timestamp,
    'NONCE123',
  );
  const expected = { publicKey: merchant.publicKey, mchid: merchant.mchid, serialNo: merchant.serial, now };

  it('signs then verifies', () => {
    expect(verifyAuthorization({ ...request, authorization: header }, expected).ok).toBe(true);
  });

  it('refuses a changed body, path, query or method', () => {
    for (const changed of [
      { ...request, body: '{"amount":{"total":2}}' },
      { ...request, url: '/v3/pay/transactions/jsapi' },
      { ...request, url: '/v3/pay/transactions/native?x=1' },
      { ...request, method: 'PUT' },
    ]) {
      expect(verifyAuthorization({ ...changed, authorization: header }, expected)).toMatchObject({
        ok: false,
        code: 'SIGN_ERROR',
      });
    }
  });

  it('refuses another merchant, another certificate serial, another key, a stale timestamp, no header', () => {
    const other = createMerchantIdentity();
    expect(verifyAuthorization({ ...request, authorization: header }, { ...expected, mchid: '1900000999' }).ok).toBe(
      false,
    );
    expect(verifyAuthorization({ ...request, authorization: header }, { ...expected, serialNo: 'ABCDEF' }).ok).toBe(
      false,
    );
    expect(
      verifyAuthorization({ ...request, authorization: header }, { ...expected, publicKey: other.publicKey }).ok,
    ).toBe(false);
    expect(
      verifyAuthorization(
        { ...request, authorization: header },
        { ...expected, now: new Date(now.getTime() + 301_000) },
      ).ok,
    ).toBe(false);
    expect(
      verifyAuthorization(
        { ...request, authorization: header },
        { ...expected, now: new Date(now.getTime() + 299_000) },
      ).ok,
    ).toBe(true);
    expect(verifyAuthorization({ ...request, authorization: undefined }, expected).ok).toBe(false);
    expect(
      verifyAuthorization(
        { ...request, authorization: header.replace(AUTHORIZATION_SCHEME, 'WECHATPAY2-SHA256-RSA4096') },
        expected,
      ).ok,
    ).toBe(false);
  });
});
