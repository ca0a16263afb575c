import { expect } from 'vitest';

import type { TestStack } from './local-stack';

/**
 * The mini program's and WeChat's side of a login, through the simulator's control API: what
 * `wx.login()` gives the phone, the encrypted user data WeChat hands it, and WeChat's own view of
 * the user's session key (which must never show on our side).
 */
export interface LoginCode {
  code: string;
  openid: string;
}

export interface SimulatedUser {
  openid?: string;
  unionid?: string;
  high_risk?: boolean;
}

/** A login code as wx.login() gives it (single-use, five minutes of the simulator's time). */
export async function wxLogin(stack: TestStack, user: SimulatedUser = {}): Promise<LoginCode> {
  const answer = await stack.simulator('POST', '/sandbox/miniprogram/login', user);
  expect(answer.status, answer.text).toBe(201);
  const { code, openid } = answer.json;
  expect(typeof code).toBe('string');
  expect(typeof openid).toBe('string');
  return { code: code as string, openid: openid as string };
}

/** The session key WeChat holds for the user now (each exchange of a code replaces it). */
export async function wechatSessionKey(stack: TestStack, openid: string): Promise<string> {
  const answer = await stack.simulator('GET', `/sandbox/miniprogram/sessions/${encodeURIComponent(openid)}`);
  expect(answer.status, answer.text).toBe(200);
  const key = answer.json.session_key;
  expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  return key as string;
}

/** User data as WeChat encrypts it for the mini program, with the user's current session key. */
export async function encryptedUserData(
  stack: TestStack,
  openid: string,
  options: { data?: Record<string, unknown>; watermark_appid?: string } = {},
): Promise<{ encrypted_data: string; iv: string }> {
  const answer = await stack.simulator('POST', '/sandbox/miniprogram/user-data', { openid, ...options });
  expect(answer.status, answer.text).toBe(200);
  return { encrypted_data: answer.json.encrypted_data as string, iv: answer.json.iv as string };
}

/**
 * Exchanges a code at the simulator directly, as another server holding the AppSecret would: WeChat
 * gives the user a new session key that our backend never sees.
 */
export async function exchangeElsewhere(
  stack: TestStack,
  code: string,
  credentials: { appid: string; secret: string },
): Promise<Record<string, unknown>> {
  const query = new URLSearchParams({ ...credentials, js_code: code, grant_type: 'authorization_code' });
  const answer = await stack.simulator('GET', `/sns/jscode2session?${query.toString()}`);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.text) as Record<string, unknown>;
}
