import { SESSION_KEY_PATTERN } from '#shared/wechatpay/miniprogram/login-client';

/**
 * The simulator's mini program side over HTTP, for tests: be the mini program (wx.login, encrypted
 * user data), call GET /sns/jscode2session as a merchant's server would, look at WeChat's own view.
 * Every function takes the simulator's base URL (a local stack's is `simulatorUrlOf(stack)`).
 */

/** The simulator's URL of a local stack; throws for a stack that runs without one. */
export function simulatorUrlOf(stack: { simulatorUrl: string | undefined }): string {
  if (stack.simulatorUrl === undefined) throw new Error('this stack runs without a simulator');
  return stack.simulatorUrl;
}

export interface SandboxLogin {
  code: string;
  openid: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** POST /sandbox/miniprogram/login as is: for tests of its answers. */
export function postSandboxLogin(simulatorUrl: string, body: unknown) {
  return postJson(`${simulatorUrl}/sandbox/miniprogram/login`, body);
}

/** A login code as wx.login() gives it (for `openid` when given, else a new user). */
export async function sandboxLogin(
  simulatorUrl: string,
  user: { openid?: string; unionid?: string; high_risk?: boolean } = {},
): Promise<SandboxLogin> {
  const { status, json } = await postSandboxLogin(simulatorUrl, user);
  if (status !== 201) throw new Error(`POST /sandbox/miniprogram/login: ${status} ${JSON.stringify(json)}`);
  return json as unknown as SandboxLogin;
}

/** POST /sandbox/miniprogram/user-data: the user's data encrypted with the current session_key. */
export function sandboxUserData(
  simulatorUrl: string,
  body: { openid: string; data?: Record<string, unknown>; watermark_appid?: string },
) {
  return postJson(`${simulatorUrl}/sandbox/miniprogram/user-data`, body);
}

/** User data as WeChat encrypts it for the mini program, with the user's current session key. */
export async function sandboxEncryptedUserData(
  simulatorUrl: string,
  body: { openid: string; data?: Record<string, unknown>; watermark_appid?: string },
): Promise<{ encrypted_data: string; iv: string }> {
  const { status, json } = await sandboxUserData(simulatorUrl, body);
  const { encrypted_data: encryptedData, iv } = json;
  if (status !== 200 || typeof encryptedData !== 'string' || typeof iv !== 'string')
    throw new Error(`POST /sandbox/miniprogram/user-data: ${status} ${JSON.stringify(json)}`);
  return { encrypted_data: encryptedData, iv };
}

/** GET /sandbox/miniprogram/sessions/:openid: WeChat's side, session_key included. */
export async function sandboxSession(
  simulatorUrl: string,
  openid: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${simulatorUrl}/sandbox/miniprogram/sessions/${encodeURIComponent(openid)}`);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Every session key WeChat gave the user, oldest first, the current one last (each exchange of a
 * code replaces the key); none for a user who never exchanged a code.
 */
export async function issuedSessionKeys(simulatorUrl: string, openid: string): Promise<string[]> {
  const { status, json } = await sandboxSession(simulatorUrl, openid);
  if (status === 404) return [];
  const keys = json.issued_session_keys;
  if (
    status !== 200 ||
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((k): k is string => typeof k === 'string' && SESSION_KEY_PATTERN.test(k)) ||
    keys.at(-1) !== json.session_key
  )
    throw new Error(`GET /sandbox/miniprogram/sessions/:openid: ${status}, not a session view with its keys`);
  return keys;
}

export interface Code2SessionAnswer {
  status: number;
  contentType: string | null;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** GET /sns/jscode2session with exactly these query parameters (undefined ones left out). */
export async function code2Session(
  baseUrl: string,
  params: Record<string, string | undefined>,
  init: RequestInit = {},
): Promise<Code2SessionAnswer> {
  const query = new URLSearchParams(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const res = await fetch(`${baseUrl}/sns/jscode2session?${query.toString()}`, init);
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, json };
}

/**
 * Exchanges a code at the simulator directly, as another server holding the AppSecret would: WeChat
 * gives the user a new session key that our backend never sees.
 */
export async function exchangeElsewhere(
  simulatorUrl: string,
  code: string,
  credentials: { appid: string; secret: string },
): Promise<Record<string, unknown>> {
  const answer = await code2Session(simulatorUrl, { ...credentials, js_code: code, grant_type: 'authorization_code' });
  if (answer.status !== 200 || answer.json === undefined)
    throw new Error(`GET /sns/jscode2session: ${answer.status}, not a JSON answer`);
  return answer.json;
}

/** WeChat's errmsg: the text, then `, rid: ` and three groups of 8 hex digits. */
export function errmsgPattern(text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`);
}
