import * as z from 'zod';

import type { EncryptedUserData } from '../domain/miniprogram-session';
import { loginCodeSchema } from '../wechatpay/miniprogram/login-client';
import { MAX_ENCRYPTED_DATA_BYTES } from '../wechatpay/miniprogram/user-data';
import { validationErrorOf } from './schema-errors';

/** Strict base64 with padding, as WeChat encodes encryptedData and iv. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Body of POST /miniprogram/sessions: the code wx.login() gave the mini program. */
const CreateMiniProgramSessionBody = z.strictObject({ code: loginCodeSchema }, 'must be a JSON object { code }');

/**
 * An openid as the caller had it from POST /miniprogram/sessions. WeChat publishes no format (they are
 * 28 characters of base64url in practice): a sane shape only, which is also a safe table key.
 */
const openidSchema = z
  .string('must be a string')
  .min(1, 'must not be empty')
  .max(128, 'at most 128 characters')
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Body of POST /miniprogram/decrypt: the mini program's encryptedData and iv, for the user `openid`. */
const DecryptMiniProgramDataBody = z.strictObject(
  {
    openid: openidSchema,
    encrypted_data: z
      .string('must be a string')
      .min(1, 'must not be empty')
      .max(Math.ceil(MAX_ENCRYPTED_DATA_BYTES / 3) * 4, `at most ${MAX_ENCRYPTED_DATA_BYTES} bytes once decoded`)
      .regex(BASE64, 'must be base64'),
    iv: z.string('must be a string').regex(/^[A-Za-z0-9+/]{22}==$/, 'must be base64 of 16 bytes'),
  },
  'must be a JSON object { openid, encrypted_data, iv }',
);

export function parseCreateMiniProgramSession(body: unknown): { code: string } {
  const parsed = CreateMiniProgramSessionBody.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  return parsed.data;
}

export function parseDecryptMiniProgramData(body: unknown): { openid: string; data: EncryptedUserData } {
  const parsed = DecryptMiniProgramDataBody.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  const { openid, encrypted_data: encryptedData, iv } = parsed.data;
  return { openid, data: { encryptedData, iv } };
}
