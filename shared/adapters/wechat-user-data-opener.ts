import { UserDataRejectedError, ValidationError } from '../domain/errors';
import type { EncryptedUserData, UserDataOpener } from '../domain/miniprogram-session';
import { decryptUserData, UserDataError } from '../wechatpay/miniprogram/user-data';

/** The library's names of the caller's inputs → the API's. */
const API_FIELD = { encryptedData: 'encrypted_data', iv: 'iv' } as const;

/**
 * Opens the user data a mini program sent with the user's session key (the protocol library's
 * AES-128-CBC), checking its watermark names our appid; refusals as the domain's errors.
 */
export class WechatUserDataOpener implements UserDataOpener {
  constructor(private readonly appid: string) {}

  open(sessionKey: string, data: EncryptedUserData): Record<string, unknown> {
    try {
      return decryptUserData({ ...data, sessionKey, appid: this.appid });
    } catch (error) {
      throw userDataDomainError(error);
    }
  }
}

/** A library refusal of user data as the domain's; anything else passes unchanged. */
export function userDataDomainError(error: unknown): unknown {
  if (!(error instanceof UserDataError)) return error;
  switch (error.problem) {
    case 'MALFORMED':
      // A stored session key of the wrong shape is ours to fix, not the caller's: not a 400.
      if (error.field === 'sessionKey' || error.field === undefined) {
        return new Error('the stored session key is malformed', { cause: error });
      }
      return new ValidationError(`${API_FIELD[error.field]}: ${error.message}`, API_FIELD[error.field], {
        cause: error,
      });
    case 'UNDECRYPTABLE':
      return new UserDataRejectedError(
        'USER_DATA_UNDECRYPTABLE',
        "the data does not decrypt with the user's current session key: it was encrypted for another " +
          'login (a later wx.login replaces the key), or altered',
        { cause: error },
      );
    case 'WATERMARK_MISMATCH':
      return new UserDataRejectedError('WATERMARK_MISMATCH', 'the data is watermarked for another mini program', {
        cause: error,
      });
  }
}
