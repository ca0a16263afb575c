import { describe, expect, it } from 'vitest';
import { DecryptUserData, SESSION_NOT_FOUND } from '#shared/domain/decrypt-user-data';
import { NotFoundError } from '#shared/domain/errors';
import type { EncryptedUserData, UserDataOpener } from '#shared/domain/miniprogram-session';
import { InMemoryLoginSessionStore } from '#test/helpers/in-memory-login-session-store';
import { loginSession, openid } from '#test/helpers/login-session-store-contract';
import { TestClock } from '#test/helpers/test-clock';

/** Records which key each opening used, and answers it back with the data. */
class RecordingOpener implements UserDataOpener {
  readonly keys: string[] = [];

  open(sessionKey: string, data: EncryptedUserData): Record<string, unknown> {
    this.keys.push(sessionKey);
    return { opened: data.encryptedData };
  }
}

const DATA = { encryptedData: 'AAAAAAAAAAAAAAAAAAAAAA==', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' };

function setUp() {
  const clock = new TestClock('2030-04-01T08:00:00.000Z');
  const sessions = new InMemoryLoginSessionStore();
  const opener = new RecordingOpener();
  return { clock, sessions, opener, useCase: new DecryptUserData({ sessions, opener, clock }) };
}

describe('DecryptUserData', () => {
  it("opens the data with the user's current session key", async () => {
    const { sessions, opener, useCase } = setUp();
    const session = loginSession();
    await sessions.save(session);
    expect(await useCase.execute(session.openid, DATA)).toEqual({ opened: DATA.encryptedData });
    expect(opener.keys).toEqual([session.sessionKey]);
  });

  it('is SESSION_NOT_FOUND without a session, and opens nothing', async () => {
    const { opener, useCase } = setUp();
    const attempt = useCase.execute(openid(), DATA);
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    await expect(attempt).rejects.toMatchObject({ code: SESSION_NOT_FOUND });
    expect(opener.keys).toEqual([]);
  });

  it('is SESSION_NOT_FOUND once the session has expired, though the store still holds it', async () => {
    const { clock, sessions, opener, useCase } = setUp();
    const session = loginSession({ exchangedAt: '2030-04-01T07:00:00.000Z', expiresAt: '2030-04-01T08:00:01.000Z' });
    await sessions.save(session);
    expect(await useCase.execute(session.openid, DATA)).toBeDefined();
    clock.advance(1);
    await expect(useCase.execute(session.openid, DATA)).rejects.toMatchObject({ code: SESSION_NOT_FOUND });
    expect(opener.keys).toHaveLength(1);
  });
});
