import { describe, expect, it } from 'vitest';
import { LoginRefusedError } from '#shared/domain/errors';
import type { ExchangedLogin, LoginCodeExchange } from '#shared/domain/miniprogram-session';
import { StartMiniProgramSession } from '#shared/domain/start-miniprogram-session';
import { InMemoryLoginSessionStore } from '#test/helpers/in-memory-login-session-store';
import { loginSession, openid, sessionKey } from '#test/helpers/login-session-store-contract';
import { TestClock } from '#test/helpers/test-clock';

/** WeChat's side as the use case sees it: each code answers one scripted login, or a refusal. */
class ScriptedExchange implements LoginCodeExchange {
  private readonly answers = new Map<string, ExchangedLogin | Error>();

  answer(code: string, outcome: ExchangedLogin | Error): this {
    this.answers.set(code, outcome);
    return this;
  }

  async exchange(code: string): Promise<ExchangedLogin> {
    const outcome = this.answers.get(code);
    if (outcome === undefined) throw new LoginRefusedError('INVALID_CODE', 'unknown code', 40029);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }
}

const TTL_SECONDS = 259_200;

function setUp(start = '2030-04-01T08:00:00.000Z') {
  const clock = new TestClock(start);
  const sessions = new InMemoryLoginSessionStore();
  const exchange = new ScriptedExchange();
  const useCase = new StartMiniProgramSession({ exchange, sessions, clock, sessionTtlSeconds: TTL_SECONDS });
  return { clock, sessions, exchange, useCase };
}

describe('StartMiniProgramSession', () => {
  it('answers the identity only, and keeps the session key for the TTL', async () => {
    const { sessions, exchange, useCase } = setUp();
    const login = { openid: openid(), unionid: 'oUnion1', sessionKey: sessionKey() };
    exchange.answer('code1', login);
    const identity = await useCase.execute('code1');
    expect(identity).toEqual({ openid: login.openid, unionid: 'oUnion1' });
    expect(identity).not.toHaveProperty('sessionKey');
    expect(sessions.all()).toEqual([
      {
        ...login,
        exchangedAt: '2030-04-01T08:00:00.000Z',
        expiresAt: new Date(Date.parse('2030-04-01T08:00:00.000Z') + TTL_SECONDS * 1000).toISOString(),
      },
    ]);
  });

  it('leaves unionid out when WeChat gives none', async () => {
    const { exchange, useCase } = setUp();
    const login = { openid: openid(), sessionKey: sessionKey() };
    exchange.answer('code1', login);
    expect(await useCase.execute('code1')).toEqual({ openid: login.openid });
  });

  it('keeps nothing when WeChat refuses the code, and passes the refusal on', async () => {
    const { sessions, useCase } = setUp();
    await expect(useCase.execute('nope')).rejects.toBeInstanceOf(LoginRefusedError);
    expect(sessions.all()).toEqual([]);
  });

  it('still answers the openid when a later login of the user is already kept (superseded)', async () => {
    const { sessions, exchange, useCase } = setUp('2030-04-01T08:00:00.000Z');
    const user = openid();
    const later = loginSession({ openid: user, exchangedAt: '2030-04-01T09:00:00.000Z' });
    await sessions.save(later);
    exchange.answer('late-write', { openid: user, sessionKey: sessionKey() });
    expect(await useCase.execute('late-write')).toEqual({ openid: user });
    expect(await sessions.find(user)).toEqual(later);
  });
});
