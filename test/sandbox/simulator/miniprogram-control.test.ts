import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatorOptionsError } from '#sandbox/simulator/options';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { UserDataError, decryptUserData } from '#shared/wechatpay/miniprogram/user-data';
import {
  code2Session,
  postSandboxLogin,
  sandboxLogin,
  sandboxSession,
  sandboxUserData,
} from '#test/helpers/miniprogram-sandbox';
import { MERCHANT } from './support';

/** The sandbox's mini program switches: wx.login's codes, the user's encrypted data, WeChat's view. */

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ merchant: MERCHANT });
});
afterAll(async () => {
  await sim.close();
});

/** A user with a live session, and its session_key as WeChat holds it. */
async function loggedIn(user: { openid?: string; unionid?: string } = {}) {
  const login = await sandboxLogin(sim.url, user);
  const answer = await code2Session(sim.url, {
    appid: MERCHANT.appid,
    secret: sim.miniProgramAppSecret,
    js_code: login.code,
    grant_type: 'authorization_code',
  });
  expect(answer.json?.openid).toBe(login.openid);
  return { openid: login.openid, sessionKey: answer.json?.session_key as string };
}

describe('POST /sandbox/miniprogram/login', () => {
  it('issues a fresh code for a new user, with an openid like WeChat\'s (28 characters, starting "o")', async () => {
    const { status, json } = await postSandboxLogin(sim.url, {});
    expect(status).toBe(201);
    expect(Object.keys(json).sort()).toEqual(['code', 'openid']);
    expect(json.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(json.code).toMatch(/^[\x21-\x7e]{1,128}$/);
    const again = await postSandboxLogin(sim.url, {});
    expect(again.json.openid).not.toBe(json.openid);
    expect(again.json.code).not.toBe(json.code);
  });

  it('keeps the openid it is given, and each login of that user gets its own code', async () => {
    const a = await sandboxLogin(sim.url, { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    const b = await sandboxLogin(sim.url, { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect([a.openid, b.openid]).toEqual(['oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o']);
    expect(a.code).not.toBe(b.code);
  });

  it.each<[string, unknown, string | undefined]>([
    ['an openid with a space', { openid: 'o has space' }, 'openid'],
    ['an empty openid', { openid: '' }, 'openid'],
    ['a unionid too long', { unionid: 'u'.repeat(129) }, 'unionid'],
    ['high_risk as text', { high_risk: 'yes' }, 'high_risk'],
    ['an unknown field', { open_id: 'oX' }, undefined],
  ])('refuses %s with 400 INVALID_REQUEST', async (_what, body, field) => {
    const { status, json } = await postSandboxLogin(sim.url, body);
    expect(status).toBe(400);
    expect((json.error as Record<string, unknown>).code).toBe('INVALID_REQUEST');
    if (field !== undefined) expect((json.error as Record<string, unknown>).field).toBe(field);
  });

  it('refuses another unionid for a user who has one: 409 UNIONID_MISMATCH', async () => {
    const first = await sandboxLogin(sim.url, { unionid: 'oUnionFirst000000000000000001' });
    const { status, json } = await postSandboxLogin(sim.url, {
      openid: first.openid,
      unionid: 'oUnionOther000000000000000001',
    });
    expect(status).toBe(409);
    expect(json.error).toMatchObject({ code: 'UNIONID_MISMATCH', field: 'unionid' });
  });
});

describe('POST /sandbox/miniprogram/user-data', () => {
  it('encrypts a profile with the current session_key, watermarked for the merchant appid', async () => {
    const user = await loggedIn({ unionid: 'oUnionProfile0000000000000001' });
    const before = Math.floor(Date.now() / 1000);
    const { status, json } = await sandboxUserData(sim.url, { openid: user.openid });
    expect(status).toBe(200);
    expect(Object.keys(json).sort()).toEqual(['encrypted_data', 'iv']);
    const data = decryptUserData({
      encryptedData: json.encrypted_data as string,
      iv: json.iv as string,
      sessionKey: user.sessionKey,
      appid: MERCHANT.appid,
    });
    expect(data).toMatchObject({ openId: user.openid, unionId: 'oUnionProfile0000000000000001' });
    const watermark = data.watermark as { appid: string; timestamp: number };
    expect(watermark.appid).toBe(MERCHANT.appid);
    expect(watermark.timestamp).toBeGreaterThanOrEqual(before);
    expect(watermark.timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('encrypts the data it is given, under a fresh iv each time', async () => {
    const user = await loggedIn();
    const data = { phoneNumber: '13580006666', purePhoneNumber: '13580006666', countryCode: '86' };
    const one = (await sandboxUserData(sim.url, { openid: user.openid, data })).json;
    const two = (await sandboxUserData(sim.url, { openid: user.openid, data })).json;
    expect(one.iv).not.toBe(two.iv);
    const opened = decryptUserData({
      encryptedData: one.encrypted_data as string,
      iv: one.iv as string,
      sessionKey: user.sessionKey,
      appid: MERCHANT.appid,
    });
    expect(opened).toEqual({ ...data, watermark: { timestamp: expect.any(Number), appid: MERCHANT.appid } });
  });

  it('watermarks for another appid when told: the merchant side must refuse it', async () => {
    const user = await loggedIn();
    const { json } = await sandboxUserData(sim.url, { openid: user.openid, watermark_appid: 'wxSomeoneElse00001' });
    let error: unknown;
    try {
      decryptUserData({
        encryptedData: json.encrypted_data as string,
        iv: json.iv as string,
        sessionKey: user.sessionKey,
        appid: MERCHANT.appid,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserDataError);
    expect((error as UserDataError).problem).toBe('WATERMARK_MISMATCH');
  });

  it('uses the latest session_key: data from before a new login no longer opens with the new key', async () => {
    const first = await loggedIn();
    const old = (await sandboxUserData(sim.url, { openid: first.openid })).json;
    const second = await loggedIn({ openid: first.openid });
    expect(second.sessionKey).not.toBe(first.sessionKey);
    expect(() =>
      decryptUserData({
        encryptedData: old.encrypted_data as string,
        iv: old.iv as string,
        sessionKey: second.sessionKey,
        appid: MERCHANT.appid,
      }),
    ).toThrow(UserDataError);
    const fresh = (await sandboxUserData(sim.url, { openid: first.openid })).json;
    expect(
      decryptUserData({
        encryptedData: fresh.encrypted_data as string,
        iv: fresh.iv as string,
        sessionKey: second.sessionKey,
        appid: MERCHANT.appid,
      }).openId,
    ).toBe(first.openid);
  });

  it('is 404 NO_SESSION for a user who logged in but never had the code exchanged', async () => {
    const login = await sandboxLogin(sim.url);
    const { status, json } = await sandboxUserData(sim.url, { openid: login.openid });
    expect(status).toBe(404);
    expect(json.error).toMatchObject({ code: 'NO_SESSION', field: 'openid' });
  });

  it('refuses a body without openid', async () => {
    const { status, json } = await sandboxUserData(sim.url, {} as { openid: string });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: 'INVALID_REQUEST', field: 'openid' });
  });
});

describe('GET /sandbox/miniprogram/sessions/:openid', () => {
  it("is 404 without a session and shows WeChat's session_key with one", async () => {
    const login = await sandboxLogin(sim.url, { unionid: 'oUnionView000000000000000001' });
    expect((await sandboxSession(sim.url, login.openid)).status).toBe(404);
    const user = await loggedIn({ openid: login.openid });
    expect((await sandboxSession(sim.url, login.openid)).json).toEqual({
      openid: login.openid,
      unionid: 'oUnionView000000000000000001',
      session_key: user.sessionKey,
      issued_session_keys: [user.sessionKey],
    });
  });

  it('lists every session_key issued to the user, oldest first, the current one last', async () => {
    const first = await loggedIn();
    const second = await loggedIn({ openid: first.openid });
    const third = await loggedIn({ openid: first.openid });
    expect(new Set([first.sessionKey, second.sessionKey, third.sessionKey]).size).toBe(3);
    // A refused exchange (a used code) issues no key.
    const login = await sandboxLogin(sim.url, { openid: first.openid });
    const exchange = { appid: MERCHANT.appid, secret: sim.miniProgramAppSecret, grant_type: 'authorization_code' };
    await code2Session(sim.url, { ...exchange, js_code: login.code });
    const used = await code2Session(sim.url, { ...exchange, js_code: login.code });
    expect(used.json?.errcode).toBe(40163);
    const view = (await sandboxSession(sim.url, first.openid)).json;
    const keys = view.issued_session_keys as string[];
    expect(keys.slice(0, 3)).toEqual([first.sessionKey, second.sessionKey, third.sessionKey]);
    expect(keys).toHaveLength(4);
    expect(keys[3]).toBe(view.session_key);
  });
});

describe('the miniProgram option', () => {
  it('serves the AppSecret it is given, and refuses one that breaks the rule without echoing it', async () => {
    const given = await startSimulator({ merchant: MERCHANT, miniProgram: { appSecret: 'ABCdef0123456789XYZ' } });
    try {
      expect(given.miniProgramAppSecret).toBe('ABCdef0123456789XYZ');
    } finally {
      await given.close();
    }
    const bad = 'short-secret!';
    let error: unknown;
    try {
      await startSimulator({ merchant: MERCHANT, miniProgram: { appSecret: bad } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SimulatorOptionsError);
    expect((error as SimulatorOptionsError).field).toBe('miniProgram.appSecret');
    // The library's rule (appSecretSchema), the same one the merchant's side applies.
    expect((error as Error).message).toContain('16 to 64 letters or digits');
    expect((error as Error).message).not.toContain(bad);
  });

  it('without one, generates 32 lowercase hex digits, and refuses any other secret', async () => {
    expect(sim.miniProgramAppSecret).toMatch(/^[0-9a-f]{32}$/);
    const login = await sandboxLogin(sim.url);
    const wrong = await code2Session(sim.url, {
      appid: MERCHANT.appid,
      secret: 'ABCdef0123456789XYZ',
      js_code: login.code,
      grant_type: 'authorization_code',
    });
    expect(wrong.json?.errcode).toBe(40125);
  });

  it.each([0, 1.5, -1])('refuses loginRateLimitPerMinute %s', async (limit) => {
    await expect(
      startSimulator({ merchant: MERCHANT, miniProgram: { loginRateLimitPerMinute: limit } }),
    ).rejects.toMatchObject({ field: 'miniProgram.loginRateLimitPerMinute' });
  });
});
