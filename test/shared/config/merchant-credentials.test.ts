import { describe, expect, it } from 'vitest';

import {
  apiClientCertificateOf,
  credentialsFromSettings,
  parseMerchantCredentials,
} from '#shared/config/merchant-credentials';
import { loadSettings } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';

const V2 = { appid: 'wx0123456789abcdef', mchid: '1900000109', apiKey: '0123456789abcdef0123456789abcdef' };
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const P12 = Buffer.from('not really a p12, shape only').toString('base64');

function problemOf(value: unknown): string {
  try {
    parseMerchantCredentials(value, 'the merchant secret');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('the API client certificate in the merchant credentials', () => {
  it('is optional: a v2 or v3 merchant without one loads (only v2 refunds need it)', () => {
    const c = parseMerchantCredentials(V2, 'test');
    expect(apiClientCertificateOf(c)).toBeUndefined();
  });

  it('takes the PEM pair', () => {
    const c = parseMerchantCredentials({ ...V2, apiClientCert: CERT, apiClientKey: KEY }, 'test');
    expect(apiClientCertificateOf(c)).toEqual({ certPem: CERT, keyPem: KEY });
  });

  it('takes the p12 in base64, line breaks and all, with the mchid as its password unless given', () => {
    const wrapped = P12.replace(/(.{8})/g, '$1\n');
    const c = parseMerchantCredentials({ ...V2, apiClientP12: wrapped }, 'test');
    expect(c.apiClientP12Password).toBe(V2.mchid);
    expect(apiClientCertificateOf(c)).toEqual({ p12: Buffer.from(P12, 'base64'), passphrase: V2.mchid });
    const own = parseMerchantCredentials({ ...V2, apiClientP12: P12, apiClientP12Password: 'changed' }, 'test');
    expect(apiClientCertificateOf(own)).toMatchObject({ passphrase: 'changed' });
  });

  it.each([
    [{ apiClientCert: CERT }, 'apiClientKey'],
    [{ apiClientKey: KEY }, 'apiClientCert'],
    [{ apiClientCert: 'MIIB', apiClientKey: KEY }, 'apiClientCert'],
    [{ apiClientCert: CERT, apiClientKey: 'MIIE' }, 'apiClientKey'],
    [{ apiClientP12: 'not base64!' }, 'apiClientP12'],
    [{ apiClientP12: P12, apiClientCert: CERT, apiClientKey: KEY }, 'apiClientP12'],
    [{ apiClientP12Password: 'x' }, 'apiClientP12Password'],
  ])('refuses %j naming %s, and never a value', (fields, field) => {
    const message = problemOf({ ...V2, ...fields });
    expect(message).toContain(`${field}:`);
    expect(message).not.toContain('MIIB');
    expect(message).not.toContain('MIIE');
  });

  it('locally comes from WECHATPAY_API_CLIENT_CERT and WECHATPAY_API_CLIENT_KEY', () => {
    const settings = loadSettings({
      TABLE_NAME: 'orders',
      WECHATPAY_APPID: V2.appid,
      WECHATPAY_MCHID: V2.mchid,
      WECHATPAY_API_KEY: V2.apiKey,
      WECHATPAY_API_CLIENT_CERT: CERT,
      WECHATPAY_API_CLIENT_KEY: KEY,
    });
    expect(apiClientCertificateOf(credentialsFromSettings(settings))).toEqual({ certPem: CERT, keyPem: KEY });
    expect(() => credentialsFromSettings({ ...settings, WECHATPAY_API_CLIENT_KEY: undefined })).toThrow(/apiClientKey/);
  });
});

describe('the mini program AppSecret in the merchant credentials', () => {
  const APP_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

  it('is optional: only the mini program login needs it', () => {
    expect(parseMerchantCredentials(V2, 'test').appSecret).toBeUndefined();
    expect(parseMerchantCredentials({ ...V2, appSecret: APP_SECRET }, 'test').appSecret).toBe(APP_SECRET);
  });

  it.each(['too-short-1', 'has space in it 0123456789', 'x'.repeat(65), 'Ünïcode0123456789'])(
    'refuses %j naming the field and the rule, never the value',
    (appSecret) => {
      const message = problemOf({ ...V2, appSecret });
      expect(message).toContain('appSecret: an AppSecret is 16 to 64 letters or digits');
      expect(message).not.toContain(appSecret);
    },
  );

  it('locally comes from WECHAT_APPSECRET', () => {
    const settings = loadSettings({
      TABLE_NAME: 'orders',
      WECHATPAY_APPID: V2.appid,
      WECHATPAY_MCHID: V2.mchid,
      WECHATPAY_API_KEY: V2.apiKey,
      WECHAT_APPSECRET: APP_SECRET,
    });
    expect(credentialsFromSettings(settings).appSecret).toBe(APP_SECRET);
    expect(credentialsFromSettings({ ...settings, WECHAT_APPSECRET: undefined }).appSecret).toBeUndefined();
  });
});
