import type { LoginSession, LoginSessionStore, SaveSessionResult } from '#shared/domain/miniprogram-session';

/**
 * A LoginSessionStore in memory with the DynamoDB store's semantics (test/helpers/login-session-store-contract.ts
 * holds both to them): one session per openid, a later exchange wins, sessions copied in and out.
 */
export class InMemoryLoginSessionStore implements LoginSessionStore {
  private readonly byOpenid = new Map<string, LoginSession>();

  save(session: LoginSession): Promise<SaveSessionResult> {
    const kept = this.byOpenid.get(session.openid);
    if (kept !== undefined && !(kept.exchangedAt < session.exchangedAt)) return Promise.resolve('superseded');
    this.byOpenid.set(session.openid, { ...session });
    return Promise.resolve('saved');
  }

  find(openid: string): Promise<LoginSession | undefined> {
    const kept = this.byOpenid.get(openid);
    return Promise.resolve(kept === undefined ? undefined : { ...kept });
  }

  /** Every session kept, for assertions. */
  all(): LoginSession[] {
    return [...this.byOpenid.values()].map((session) => ({ ...session }));
  }
}
