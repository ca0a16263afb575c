import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_ENCRYPTED_DATA_BASE64_CHARS,
  MAX_ENCRYPTED_DATA_BYTES,
  UserDataError,
  decryptUserData,
  encryptUserData,
} from '#shared/wechatpay/miniprogram/user-data';
import type { UserDataProblem } from '#shared/wechatpay/miniprogram/user-data';
import { loadVectors } from '#test/helpers/vectors';

interface UserDataVector {
  id: string;
  appid: string;
  session_key: string;
  iv: string;
  encrypted_data: string;
  plaintext: string;
  verified: boolean;
}

const [demo] = loadVectors<{ vectors: UserDataVector[] }>('miniprogram-user-data.json').vectors;
if (demo === undefined) throw new Error('miniprogram-user-data.json has no vector');

const input = {
  encryptedData: demo.encrypted_data,
  iv: demo.iv,
  sessionKey: demo.session_key,
  appid: demo.appid,
};

function refusal(call: () => unknown): UserDataError {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UserDataError);
  return error as UserDataError;
}

/** AES-128-CBC of arbitrary bytes, as WeChat's side would encrypt them (for cases encryptUserData cannot make). */
function encryptRaw(plain: Buffer, sessionKey: string, iv: string): string {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(iv, 'base64'));
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

describe("decryptUserData on WeChat's published demo", () => {
  it('gives back the exact decrypted object, watermark included', () => {
    expect(demo.verified).toBe(true);
    const data = decryptUserData(input);
    expect(data).toEqual(JSON.parse(demo.plaintext));
    expect(JSON.stringify(data)).toBe(demo.plaintext);
    expect(data.openId).toBe('oGZUI0egBJY1zhBYw2KhdUfwVJJE');
    expect(data.watermark).toEqual({ timestamp: 1477314187, appid: 'wx4f4bc4dec97d474b' });
  });

  it('refuses it for another appid: WATERMARK_MISMATCH, naming neither data nor key', () => {
    const error = refusal(() => decryptUserData({ ...input, appid: 'wx0000000000000000' }));
    expect(error.problem).toBe('WATERMARK_MISMATCH');
    expect(error.message).not.toContain(demo.session_key);
    expect(error.message).not.toContain('oGZUI0egBJY1zhBYw2KhdUfwVJJE');
  });

  it('refuses it under another session_key: UNDECRYPTABLE, without the key in the message', () => {
    const otherKey = 'HyVFkGl5F5OQWJZZaNzBBg==';
    const error = refusal(() => decryptUserData({ ...input, sessionKey: otherKey }));
    expect(error.problem).toBe('UNDECRYPTABLE');
    expect(error.message).not.toContain(otherKey);
  });

  it('refuses it with a changed iv (the first block no longer reads as JSON): UNDECRYPTABLE', () => {
    const iv = Buffer.from(demo.iv, 'base64');
    iv[0] = (iv[0] as number) ^ 0x01;
    expect(refusal(() => decryptUserData({ ...input, iv: iv.toString('base64') })).problem).toBe('UNDECRYPTABLE');
  });

  it('refuses it with a changed last block (the padding breaks): UNDECRYPTABLE', () => {
    const data = Buffer.from(demo.encrypted_data, 'base64');
    data[data.length - 1] = (data[data.length - 1] as number) ^ 0xff;
    const error = refusal(() => decryptUserData({ ...input, encryptedData: data.toString('base64') }));
    expect(error.problem).toBe('UNDECRYPTABLE');
  });
});

describe('decryptUserData on malformed input', () => {
  it.each<[string, Partial<typeof input>, 'encryptedData' | 'iv' | 'sessionKey']>([
    ['encryptedData not base64', { encryptedData: 'not base64!' }, 'encryptedData'],
    ['encryptedData empty', { encryptedData: '' }, 'encryptedData'],
    ['encryptedData not whole blocks', { encryptedData: Buffer.alloc(20).toString('base64') }, 'encryptedData'],
    ['encryptedData without its padding', { encryptedData: demo.encrypted_data.replace(/=+$/, '') }, 'encryptedData'],
    ['an iv of 12 bytes', { iv: Buffer.alloc(12).toString('base64') }, 'iv'],
    ['an iv not base64', { iv: 'r7BXXKkLb8qrSNn05n0qiA=!' }, 'iv'],
    ['a session_key of 32 bytes', { sessionKey: Buffer.alloc(32).toString('base64') }, 'sessionKey'],
    ['a session_key with spaces', { sessionKey: 'tiihtNczf5v6AKRy jwEUhQ==' }, 'sessionKey'],
  ])('%s: MALFORMED, field %s', (_what, change, field) => {
    const error = refusal(() => decryptUserData({ ...input, ...change }));
    expect(error.problem).toBe<UserDataProblem>('MALFORMED');
    expect(error.field).toBe(field);
  });

  it('takes as many base64 characters as the largest data encodes to', () => {
    expect(MAX_ENCRYPTED_DATA_BASE64_CHARS).toBe(Buffer.alloc(MAX_ENCRYPTED_DATA_BYTES).toString('base64').length);
  });

  it('refuses more than its size limit before decoding anything', () => {
    const huge = 'A'.repeat(MAX_ENCRYPTED_DATA_BASE64_CHARS + 4);
    const error = refusal(() => decryptUserData({ ...input, encryptedData: huge }));
    expect(error.problem).toBe('MALFORMED');
    expect(error.field).toBe('encryptedData');
  });
});

describe('decryptUserData on what decrypts but is not user data', () => {
  const sessionKey = demo.session_key;
  const iv = demo.iv;
  const open = (plain: Buffer) =>
    refusal(() =>
      decryptUserData({ encryptedData: encryptRaw(plain, sessionKey, iv), iv, sessionKey, appid: demo.appid }),
    );

  it.each<[string, string]>([
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"wx4f4bc4dec97d474b"'],
    ['null', 'null'],
    ['not JSON', 'openId=oGZUI0egBJY1zhBYw2KhdUfwVJJE'],
  ])('%s: UNDECRYPTABLE', (_what, text) => {
    expect(open(Buffer.from(text, 'utf8')).problem).toBe('UNDECRYPTABLE');
  });

  it('bytes that are not UTF-8: UNDECRYPTABLE', () => {
    expect(open(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])).problem).toBe('UNDECRYPTABLE');
  });

  it.each<[string, unknown]>([
    ['no watermark', { openId: 'o1' }],
    ['a watermark without appid', { watermark: { timestamp: 1 } }],
    ['a watermark that is a string', { watermark: 'wx4f4bc4dec97d474b' }],
    ['an appid of another case', { watermark: { appid: 'WX4F4BC4DEC97D474B', timestamp: 1 } }],
  ])('%s: WATERMARK_MISMATCH', (_what, object) => {
    expect(open(Buffer.from(JSON.stringify(object), 'utf8')).problem).toBe('WATERMARK_MISMATCH');
  });
});

describe('encryptUserData (WeChat side, for the simulator and tests)', () => {
  it("reproduces the demo's ciphertext byte for byte from its data, timestamp and iv", () => {
    const { watermark, ...data } = JSON.parse(demo.plaintext) as Record<string, unknown>;
    const { timestamp } = watermark as { timestamp: number };
    const sealed = encryptUserData({
      data,
      sessionKey: demo.session_key,
      appid: demo.appid,
      timestamp,
      iv: Buffer.from(demo.iv, 'base64'),
    });
    expect(sealed).toEqual({ encryptedData: demo.encrypted_data, iv: demo.iv });
  });

  it('round-trips through decryptUserData under a fresh iv each time', () => {
    const data = { phoneNumber: '13580006666', purePhoneNumber: '13580006666', countryCode: '86' };
    const one = encryptUserData({ data, sessionKey: demo.session_key, appid: 'wxMine', timestamp: 1_700_000_000 });
    const two = encryptUserData({ data, sessionKey: demo.session_key, appid: 'wxMine', timestamp: 1_700_000_000 });
    expect(one.iv).not.toBe(two.iv);
    expect(Buffer.from(one.iv, 'base64')).toHaveLength(16);
    expect(decryptUserData({ ...one, sessionKey: demo.session_key, appid: 'wxMine' })).toEqual({
      ...data,
      watermark: { timestamp: 1_700_000_000, appid: 'wxMine' },
    });
  });
});
