import { describe, expect, it } from 'vitest';
import { WechatUserDataOpener } from '#shared/adapters/wechat-user-data-opener';
import { UserDataRejectedError, ValidationError } from '#shared/domain/errors';
import { encryptUserData } from '#shared/wechatpay/miniprogram/user-data';
import { sessionKey } from '#test/helpers/login-session-store-contract';

const APPID = 'wx0123456789abcdef';
const PROFILE = { nickName: 'Band', gender: 1, city: 'Guangzhou' };

function sealedFor(key: string, appid = APPID) {
  return encryptUserData({ data: PROFILE, sessionKey: key, appid, timestamp: 1_900_000_000 });
}

function refusal(open: () => unknown): unknown {
  try {
    open();
  } catch (error) {
    return error;
  }
  throw new Error('opened');
}

describe('WechatUserDataOpener', () => {
  it('answers the decrypted object exactly as WeChat wrote it, watermark included', () => {
    const key = sessionKey();
    expect(new WechatUserDataOpener(APPID).open(key, sealedFor(key))).toEqual({
      ...PROFILE,
      watermark: { timestamp: 1_900_000_000, appid: APPID },
    });
  });

  it("refuses data encrypted with another session's key: USER_DATA_UNDECRYPTABLE", () => {
    const error = refusal(() => new WechatUserDataOpener(APPID).open(sessionKey(), sealedFor(sessionKey())));
    expect(error).toBeInstanceOf(UserDataRejectedError);
    expect(error).toMatchObject({ code: 'USER_DATA_UNDECRYPTABLE' });
  });

  it('refuses data watermarked for another mini program: WATERMARK_MISMATCH', () => {
    const key = sessionKey();
    const error = refusal(() => new WechatUserDataOpener(APPID).open(key, sealedFor(key, 'wxfedcba9876543210')));
    expect(error).toBeInstanceOf(UserDataRejectedError);
    expect(error).toMatchObject({ code: 'WATERMARK_MISMATCH' });
  });

  it.each([
    [{ encryptedData: 'not base64!', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'encrypted_data'],
    [{ encryptedData: 'AAAAAAAAAAAAAAAAAAAAAA==', iv: 'AAAA' }, 'iv'],
    [{ encryptedData: 'AAAAAAAAAAAAAAA=', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'encrypted_data'],
  ])('refuses malformed input %j as a 400 naming the API field %s', (data, field) => {
    const error = refusal(() => new WechatUserDataOpener(APPID).open(sessionKey(), data));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field });
  });

  it('takes a malformed stored session key for our fault, not the caller’s, and never quotes it', () => {
    const error = refusal(() => new WechatUserDataOpener(APPID).open('c2hvcnQ=', sealedFor(sessionKey())));
    expect(error).not.toBeInstanceOf(ValidationError);
    expect(String((error as Error).message)).not.toContain('c2hvcnQ=');
  });
});
