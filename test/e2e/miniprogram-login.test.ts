import { randomBytes } from 'node:crypto';

import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localDynamoDbClient } from '#sandbox/local/resources';
import { localEndpoint } from '../helpers/aws';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { type HttpAnswer, startTestStack, type TestStack } from '../helpers/local-stack';
import {
  exchangeElsewhere,
  issuedSessionKeys,
  sandboxEncryptedUserData,
  sandboxLogin,
  type SandboxLogin,
  simulatorUrlOf,
} from '../helpers/miniprogram-sandbox';
import { captureProcessOutput, type ProcessOutput } from '../helpers/process-output';
import { waitFor } from '../helpers/wait-for';

/**
 * Mini program login end to end over HTTP: the simulator plays the phone (wx.login) and WeChat's
 * api.weixin.qq.com (sns/jscode2session, the user's encrypted data); our gateway, the orders handler
 * and DynamoDB Local do the rest. Whatever happens, the user's session_key and the AppSecret never
 * show in an answer of ours, a log line, an event, or in plaintext in the table.
 */

/** A code lives five minutes of the simulator's time: 1 s here. */
const TIME_SCALE = 300;
const CODE_LIFETIME_MS = (5 * 60 * 1000) / TIME_SCALE;
/** The simulator's exchanges per user per (real) minute; low, so a flood is a handful of requests. */
const LOGIN_RATE_LIMIT = 5;
/** GET /events lists an event 10 s after it was recorded, plus slack. */
const LISTED_WITHIN_MS = 30_000;

let stack: TestStack;
/** Every stack this file started (the main one and the short-lived ones), for their logs. */
const stacks: TestStack[] = [];
let output: ProcessOutput;
/** Every answer our gateway gave in this file: status, headers and body. */
const answers: string[] = [];
/** Every session key WeChat (the simulator) gave any user of this file: see noteIssuedKeys. */
const sessionKeys = new Set<string>();
/** Every user each stack's simulator gave a login code, for the keys WeChat issued them. */
const usersOf = new Map<TestStack, Set<string>>();
/** Users whose session our backend kept. */
const keptOpenids = new Set<string>();

async function ours(method: string, path: string, body?: unknown, on: TestStack = stack): Promise<HttpAnswer> {
  const answer = await on.api(method, path, body);
  answers.push(`${answer.status} ${JSON.stringify([...answer.headers])} ${answer.text}`);
  return answer;
}

type SimulatedUser = Parameters<typeof sandboxLogin>[1];

/** A login code as wx.login() gives it; the user is noted for the sweep of the keys WeChat issues. */
async function wxLogin(on: TestStack, user: SimulatedUser = {}): Promise<SandboxLogin> {
  const login = await sandboxLogin(simulatorUrlOf(on), user);
  const users = usersOf.get(on) ?? new Set<string>();
  usersOf.set(on, users.add(login.openid));
  return login;
}

/**
 * Notes every session key the stack's simulator issued to any user of this file, each exchange's
 * (a flood's, a login elsewhere's, a replaced one's), not only the current ones: the sweep looks for
 * all of them. Called before a stack stops, its simulator's memory with it.
 */
async function noteIssuedKeys(on: TestStack): Promise<void> {
  for (const openid of usersOf.get(on) ?? [])
    for (const key of await issuedSessionKeys(simulatorUrlOf(on), openid)) sessionKeys.add(key);
}

/** The session key WeChat holds for the user now. */
async function currentSessionKey(openid: string): Promise<string> {
  const key = (await issuedSessionKeys(simulatorUrlOf(stack), openid)).at(-1);
  if (key === undefined) throw new Error(`${openid} has no session at WeChat`);
  return key;
}

/** User data as WeChat encrypts it for the mini program, with the user's current session key. */
function encryptedUserData(
  on: TestStack,
  openid: string,
  options: { watermark_appid?: string; data?: Record<string, unknown> } = {},
) {
  return sandboxEncryptedUserData(simulatorUrlOf(on), { openid, ...options });
}

/** wx.login() on the phone, then our POST /miniprogram/sessions with the code. */
async function logIn(user: SimulatedUser = {}, on: TestStack = stack): Promise<{ openid: string; answer: HttpAnswer }> {
  const { code, openid } = await wxLogin(on, user);
  const answer = await ours('POST', '/miniprogram/sessions', { code }, on);
  if (answer.status === 201) keptOpenids.add(openid);
  return { openid, answer };
}

let seq = 0;
function outTradeNo(): string {
  seq += 1;
  return `MP${Date.now()}${String(seq).padStart(4, '0')}`;
}

/** A stack for this file; its log joins the sweep. */
async function started(options: Parameters<typeof startTestStack>[0]): Promise<TestStack> {
  const one = await startTestStack(options);
  stacks.push(one);
  return one;
}

const wechatCredentials = () => ({ appid: SANDBOX_MERCHANT.appid, secret: stack.settings.WECHAT_APPSECRET ?? '' });

beforeAll(async () => {
  output = captureProcessOutput();
  stack = await started({
    timeScale: TIME_SCALE,
    miniProgram: { loginRateLimitPerMinute: LOGIN_RATE_LIMIT },
    // Every line the handlers can print, so the sweep below looks at the most they ever log.
    env: { LOG_LEVEL: 'DEBUG', RECONCILE_SCHEDULE: '3600' },
  });
});

afterAll(async () => {
  await stack?.stop();
  output?.stop();
});

describe('mini program login', () => {
  it('starts with the AppSecret the simulator and the handlers share, the simulator as api.weixin.qq.com', () => {
    expect(stack.settings.WECHAT_APPSECRET).toMatch(/^[0-9a-f]{32}$/);
    expect(stack.settings.WECHAT_APPSECRET).toBe(stack.simulatorAppSecret);
    expect(stack.settings.WECHAT_API_BASE_URL).toBe(stack.simulatorHttpsUrl);
  });

  it('turns a login code into the openid, which pays a JSAPI order', async () => {
    const { openid, answer } = await logIn();
    expect(answer.status, answer.text).toBe(201);
    // The identity only: no session_key, no unionid for a mini program not bound to an Open Platform account.
    expect(answer.json).toEqual({ openid });

    const no = outTradeNo();
    const created = await ours('POST', '/orders', {
      out_trade_no: no,
      description: 'mini program order',
      amount: { total: 88 },
      trade_type: 'JSAPI',
      payer: { openid },
      scene_info: { payer_client_ip: '203.0.113.9' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.client).toMatchObject({
      appId: SANDBOX_MERCHANT.appid,
      package: expect.stringMatching(/^prepay_id=/),
    });
    expect((await stack.simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' })).status).toBe(200);
    const paid = await waitFor(
      () => ours('GET', `/orders/${no}`),
      (a) => a.json.status === 'PAID',
    );
    expect(paid.json).toMatchObject({ out_trade_no: no, status: 'PAID', trade_type: 'JSAPI' });
    // WeChat Pay took the order for this payer, and this payer paid it.
    const atWechat = (await stack.simulator('GET', `/sandbox/orders/${no}`)).json.order as Record<string, unknown>;
    expect(atWechat).toMatchObject({ trade_state: 'SUCCESS', openid });
  });

  it('answers the unionid when WeChat gives one', async () => {
    const unionid = `oU${randomBytes(12).toString('hex')}`;
    const { openid, answer } = await logIn({ unionid });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.json).toEqual({ openid, unionid });
  });

  it('keeps the session sealed in the table, with a TTL, and never the key in plaintext', async () => {
    const { openid, answer } = await logIn();
    expect(answer.status, answer.text).toBe(201);
    const key = await currentSessionKey(openid);
    const items = await scanTable(stack.tableName);
    const item = items.find((i) => i.pk === `MPSESSION#${openid}`);
    expect(item).toMatchObject({ sk: 'MPSESSION', openid, appid: SANDBOX_MERCHANT.appid });
    expect(typeof item?.sealedSessionKey).toBe('string');
    expect(typeof item?.ttl).toBe('number');
    expect(Date.parse(String(item?.expiresAt))).toBeGreaterThan(Date.now());
    // No status: the stream filter never hands it to the events function.
    expect(item).not.toHaveProperty('status');
    expect(revealsKey(JSON.stringify(item, bytesAsText), key)).toBe(false);
  });

  it('refuses a code used once already: 400 CODE_USED with WeChat’s 40163', async () => {
    const { code, openid } = await wxLogin(stack);
    const first = await ours('POST', '/miniprogram/sessions', { code });
    expect(first.status, first.text).toBe(201);
    keptOpenids.add(openid);
    const again = await ours('POST', '/miniprogram/sessions', { code });
    expect(again.status, again.text).toBe(400);
    expect(again.json).toEqual({
      error: { code: 'CODE_USED', message: expect.any(String), field: 'code', wechat_errcode: 40163 },
    });
  });

  it('refuses a code older than five minutes: 400 INVALID_CODE with WeChat’s 40029', async () => {
    const { code } = await wxLogin(stack);
    await new Promise((r) => setTimeout(r, CODE_LIFETIME_MS + 300));
    const late = await ours('POST', '/miniprogram/sessions', { code });
    expect(late.status, late.text).toBe(400);
    expect(late.json).toMatchObject({ error: { code: 'INVALID_CODE', field: 'code', wechat_errcode: 40029 } });
  });

  it('refuses a code WeChat never gave: 400 INVALID_CODE', async () => {
    const made = await ours('POST', '/miniprogram/sessions', { code: `0a1${randomBytes(14).toString('hex')}` });
    expect(made.status, made.text).toBe(400);
    expect(made.json).toMatchObject({ error: { code: 'INVALID_CODE', field: 'code', wechat_errcode: 40029 } });
  });

  it('answers 403 HIGH_RISK_USER for a user WeChat blocks', async () => {
    const { answer } = await logIn({ high_risk: true });
    expect(answer.status, answer.text).toBe(403);
    expect(answer.json).toMatchObject({ error: { code: 'HIGH_RISK_USER', wechat_errcode: 40226 } });
  });

  it.each([
    [{}, 'code'],
    [{ code: '' }, 'code'],
    [{ code: 'has space' }, 'code'],
    [{ code: 'x'.repeat(129) }, 'code'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const refused = await ours('POST', '/miniprogram/sessions', body);
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'INVALID_REQUEST', field } });
  });

  it('refuses a body with fields of its own (the schema is strict)', async () => {
    const { code } = await wxLogin(stack);
    const refused = await ours('POST', '/miniprogram/sessions', { code, openid: 'oSomeoneElse' });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
  });

  it('answers a flood of one user’s logins 429 RATE_LIMITED past WeChat’s quota, retry-after 60', async () => {
    const openid = `oFlood${randomBytes(11).toString('hex')}`;
    const codes: string[] = [];
    for (let i = 0; i < LOGIN_RATE_LIMIT + 3; i++) codes.push((await wxLogin(stack, { openid })).code);
    const results = await Promise.all(codes.map((code) => ours('POST', '/miniprogram/sessions', { code })));
    keptOpenids.add(openid);
    const accepted = results.filter((r) => r.status === 201);
    const limited = results.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(LOGIN_RATE_LIMIT);
    expect(limited).toHaveLength(3);
    // Each accepted exchange was given a key of its own (the sweep looks for every one of them); a
    // refused one none.
    const keys = await issuedSessionKeys(simulatorUrlOf(stack), openid);
    expect(new Set(keys).size).toBe(LOGIN_RATE_LIMIT);
    for (const r of accepted) expect(r.json).toEqual({ openid });
    for (const r of limited) {
      expect(r.json).toMatchObject({ error: { code: 'RATE_LIMITED', wechat_errcode: 45011 } });
      expect(r.headers.get('retry-after')).toBe('60');
    }
    // The quota is the user's: another user logs in meanwhile.
    expect((await logIn()).answer.status).toBe(201);
  });
});

describe('user data the mini program sends', () => {
  it('decrypts it with the kept session key, the watermark as WeChat wrote it', async () => {
    const { openid } = await logIn();
    const data = { nickName: 'Band', gender: 1, city: 'Guangzhou' };
    const sealed = await encryptedUserData(stack, openid, { data });
    const opened = await ours('POST', '/miniprogram/decrypt', { openid, ...sealed });
    expect(opened.status, opened.text).toBe(200);
    expect(opened.json).toEqual({
      ...data,
      watermark: { appid: SANDBOX_MERCHANT.appid, timestamp: expect.any(Number) },
    });
  });

  it('refuses data watermarked for another mini program: 400 WATERMARK_MISMATCH', async () => {
    const { openid } = await logIn();
    const sealed = await encryptedUserData(stack, openid, { watermark_appid: 'wx00000000other001' });
    const refused = await ours('POST', '/miniprogram/decrypt', { openid, ...sealed });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'WATERMARK_MISMATCH' } });
  });

  it('refuses data under a key replaced by a login elsewhere, until the user logs in here again', async () => {
    const { openid } = await logIn();
    // The code of a second wx.login() is exchanged by another server: WeChat replaces the user's key.
    const { code } = await wxLogin(stack, { openid });
    const elsewhere = await exchangeElsewhere(simulatorUrlOf(stack), code, wechatCredentials());
    expect(elsewhere).toMatchObject({ openid });
    const stale = await ours('POST', '/miniprogram/decrypt', { openid, ...(await encryptedUserData(stack, openid)) });
    expect(stale.status, stale.text).toBe(400);
    expect(stale.json).toMatchObject({ error: { code: 'USER_DATA_UNDECRYPTABLE' } });

    expect((await logIn({ openid })).answer.status).toBe(201);
    const fresh = await ours('POST', '/miniprogram/decrypt', { openid, ...(await encryptedUserData(stack, openid)) });
    expect(fresh.status, fresh.text).toBe(200);
  });

  it('answers 404 SESSION_NOT_FOUND for a user who never logged in here', async () => {
    const { openid } = await wxLogin(stack);
    const refused = await ours('POST', '/miniprogram/decrypt', {
      openid,
      encrypted_data: randomBytes(32).toString('base64'),
      iv: randomBytes(16).toString('base64'),
    });
    expect(refused.status, refused.text).toBe(404);
    expect(refused.json).toMatchObject({ error: { code: 'SESSION_NOT_FOUND' } });
  });

  it.each([
    ['encrypted_data', { encrypted_data: 'not base64!', iv: randomBytes(16).toString('base64') }],
    ['iv', { encrypted_data: randomBytes(32).toString('base64'), iv: randomBytes(8).toString('base64') }],
  ])('answers 400 naming %s when it is not what WeChat sends', async (field, data) => {
    const { openid } = await logIn();
    const refused = await ours('POST', '/miniprogram/decrypt', { openid, ...data });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json).toMatchObject({ error: { field } });
  });

  it('finds no session sealed under an AppSecret since replaced: 404, the user logs in again', async () => {
    const { openid } = await logIn();
    const sealed = await encryptedUserData(stack, openid);
    // The same table, the mini program's AppSecret replaced (handlers and WeChat alike).
    const replaced = await started({
      tableName: stack.tableName,
      timeScale: TIME_SCALE,
      miniProgram: { appSecret: randomBytes(16).toString('hex') },
      env: { LOG_LEVEL: 'DEBUG' },
    });
    try {
      const refused = await ours('POST', '/miniprogram/decrypt', { openid, ...sealed }, replaced);
      expect(refused.status, refused.text).toBe(404);
      expect(refused.json).toMatchObject({ error: { code: 'SESSION_NOT_FOUND' } });
      expect((await logIn({ openid }, replaced)).answer.status).toBe(201);
      const opened = await ours(
        'POST',
        '/miniprogram/decrypt',
        { openid, ...(await encryptedUserData(replaced, openid)) },
        replaced,
      );
      expect(opened.status, opened.text).toBe(200);
      noteSecrets(replaced);
    } finally {
      await noteIssuedKeys(replaced).finally(() => replaced.stop());
    }
  });
});

/** AppSecrets in play in this file: none may show anywhere but in the handlers' settings. */
const appSecrets = new Set<string>();
function noteSecrets(on: TestStack): void {
  for (const secret of [on.settings.WECHAT_APPSECRET, on.simulatorAppSecret]) if (secret) appSecrets.add(secret);
}

describe('a deployment with the wrong AppSecret', () => {
  it('fails the invocation (500, logged), naming neither secret', async () => {
    const wechatsSecret = randomBytes(16).toString('hex');
    const ourSecret = randomBytes(16).toString('hex');
    appSecrets.add(wechatsSecret).add(ourSecret);
    const wrong = await started({
      timeScale: TIME_SCALE,
      miniProgram: { appSecret: wechatsSecret },
      env: { WECHAT_APPSECRET: ourSecret, LOG_LEVEL: 'DEBUG' },
    });
    try {
      const before = output.text().length;
      const { answer } = await logIn({}, wrong);
      expect(answer.status, answer.text).toBe(500);
      expect(answer.text).not.toMatch(/appsecret|40125/i);
      // The handler says why in its log, for the operator (and the error alarm).
      expect(output.text().slice(before)).toMatch(/misconfigured/);
    } finally {
      await noteIssuedKeys(wrong).finally(() => wrong.stop());
    }
  });
});

describe('the session key and the AppSecret', () => {
  it('never show in an answer, a log line, an event, or in plaintext in the table', async () => {
    noteSecrets(stack);
    await noteIssuedKeys(stack);
    // Every exchange's key, not only each user's last: the flood's user alone was given LOGIN_RATE_LIMIT.
    expect(sessionKeys.size).toBeGreaterThanOrEqual(keptOpenids.size + LOGIN_RATE_LIMIT - 1);
    // Let the JSAPI order's payment.succeeded (and any other event of this table) be listed.
    const events = await waitFor(
      () => listAllEvents(),
      (listed) => listed.some((e) => e.type === 'payment.succeeded'),
      { timeoutMs: LISTED_WITHIN_MS, intervalMs: 500 },
    );
    const items = await scanTable(stack.tableName);
    expect(items.filter((i) => String(i.pk).startsWith('MPSESSION#')).length).toBeGreaterThanOrEqual(keptOpenids.size);
    const places: Record<string, string> = {
      answers: answers.join('\n'),
      'stack log': stacks.flatMap((s) => s.logs).join('\n'),
      'handler output': output.text(),
      events: JSON.stringify(events),
      table: JSON.stringify(items, bytesAsText),
    };
    // The sweep looks at something: the answers, the log and the output are not empty.
    expect(answers.length).toBeGreaterThan(20);
    expect(places['stack log']).toContain('/miniprogram/sessions');
    for (const [where, text] of Object.entries(places)) {
      for (const key of sessionKeys) expect(revealsKey(text, key), `a session key in the ${where}`).toBe(false);
      for (const secret of appSecrets) expect(text.includes(secret), `an AppSecret in the ${where}`).toBe(false);
    }
    // No event came of a login: only the order's.
    expect(events.every((e) => String(e.type).startsWith('payment.'))).toBe(true);
  });
});

/** A key shows in `text` as WeChat's base64, or as the hex of its 16 bytes. */
function revealsKey(text: string, key: string): boolean {
  const hex = Buffer.from(key, 'base64').toString('hex');
  return text.includes(key) || text.toLowerCase().includes(hex);
}

/** JSON.stringify replacer: binary attributes as base64 and hex, so a key kept as bytes shows too. */
function bytesAsText(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value);
    return `${bytes.toString('base64')} ${bytes.toString('hex')}`;
  }
  return value;
}

async function scanTable(tableName: string): Promise<Record<string, unknown>[]> {
  const client = localDynamoDbClient(localEndpoint('dynamodbEndpoint'));
  try {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) items.push(unmarshall(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  } finally {
    client.destroy();
  }
}

async function listAllEvents(): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  let after: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: '100', ...(after === undefined ? {} : { after }) });
    const page = await ours('GET', `/events?${query.toString()}`);
    expect(page.status, page.text).toBe(200);
    const got = page.json.events as Record<string, unknown>[];
    events.push(...got);
    after = page.json.next as string;
    if (got.length < 100) return events;
  }
}
