import * as z from 'zod';

import type { EncryptedUserData } from '../domain/miniprogram-session';
import { loginCodeSchema, openidSchema, SESSION_KEY_PATTERN } from '../wechatpay/miniprogram/login-client';
import {
  BASE64_PATTERN,
  MAX_ENCRYPTED_DATA_BASE64_CHARS,
  MAX_ENCRYPTED_DATA_BYTES,
} from '../wechatpay/miniprogram/user-data';
import { validationErrorOf } from './schema-errors';

/** The largest POST /miniprogram/decrypt body: the longest encrypted_data, with room for the rest. */
export const MAX_USER_DATA_BODY_BYTES = MAX_ENCRYPTED_DATA_BASE64_CHARS + 1024;

/** Body of POST /miniprogram/sessions: the code wx.login() gave the mini program. */
export const createMiniProgramSessionBodySchema = z.strictObject(
  { code: loginCodeSchema },
  'must be a JSON object { code }',
);

/** Body of POST /miniprogram/decrypt: the mini program's encryptedData and iv, for the user `openid`. */
export const decryptMiniProgramDataBodySchema = z.strictObject(
  {
    // As the caller had it from POST /miniprogram/sessions.
    openid: openidSchema,
    encrypted_data: z
      .string('must be a string')
      .min(1, 'must not be empty')
      .max(MAX_ENCRYPTED_DATA_BASE64_CHARS, `at most ${MAX_ENCRYPTED_DATA_BYTES} bytes once decoded`)
      .regex(BASE64_PATTERN, 'must be base64'),
    // An iv is 16 bytes, as a session key is: the same base64 shape.
    iv: z.string('must be a string').regex(SESSION_KEY_PATTERN, 'must be base64 of 16 bytes'),
  },
  'must be a JSON object { openid, encrypted_data, iv }',
);

export function parseCreateMiniProgramSession(body: unknown): { code: string } {
  const parsed = createMiniProgramSessionBodySchema.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  return parsed.data;
}

export function parseDecryptMiniProgramData(body: unknown): { openid: string; data: EncryptedUserData } {
  const parsed = decryptMiniProgramDataBodySchema.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  const { openid, encrypted_data: encryptedData, iv } = parsed.data;
  return { openid, data: { encryptedData, iv } };
}
