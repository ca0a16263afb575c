import type { LoginCodeExchange, LoginSessionStore, MiniProgramIdentity } from './miniprogram-session';
import type { Clock } from './ports';

export interface StartMiniProgramSessionDeps {
  exchange: LoginCodeExchange;
  sessions: LoginSessionStore;
  clock: Clock;
  /** How long a session key is kept for decrypting the user's data. */
  sessionTtlSeconds: number;
}

/**
 * `POST /miniprogram/sessions`: a login code becomes the user's identity, and its session key is kept.
 * The code is single-use at WeChat, so this is not idempotent: the same code again is CODE_USED.
 */
export class StartMiniProgramSession {
  constructor(private readonly deps: StartMiniProgramSessionDeps) {}

  async execute(code: string): Promise<MiniProgramIdentity> {
    const login = await this.deps.exchange.exchange(code);
    const now = this.deps.clock.now();
    await this.deps.sessions.save({
      ...login,
      exchangedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.deps.sessionTtlSeconds * 1000).toISOString(),
    });
    // Superseded or not, WeChat vouched for this openid just now: the caller may use it.
    return { openid: login.openid, ...(login.unionid === undefined ? {} : { unionid: login.unionid }) };
  }
}
