import { NotFoundError } from './errors';
import type { EncryptedUserData, LoginSessionStore, UserDataOpener } from './miniprogram-session';
import type { Clock } from './ports';

export interface DecryptUserDataDeps {
  sessions: LoginSessionStore;
  opener: UserDataOpener;
  clock: Clock;
}

export const SESSION_NOT_FOUND = 'SESSION_NOT_FOUND';

/**
 * `POST /miniprogram/decrypt`: the user data the mini program sent, opened with the user's current
 * session key. Without a live session there is nothing to open it with: the mini program logs in again.
 */
export class DecryptUserData {
  constructor(private readonly deps: DecryptUserDataDeps) {}

  async execute(openid: string, data: EncryptedUserData): Promise<Record<string, unknown>> {
    const session = await this.deps.sessions.find(openid);
    if (session === undefined || Date.parse(session.expiresAt) <= this.deps.clock.now().getTime()) {
      throw new NotFoundError(`no login session for this openid: log in again (wx.login) and send fresh data`, {
        code: SESSION_NOT_FOUND,
      });
    }
    return this.deps.opener.open(session.sessionKey, data);
  }
}
