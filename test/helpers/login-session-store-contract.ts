import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LoginSession, LoginSessionStore } from '#shared/domain/miniprogram-session';

/** A session key as WeChat gives it: base64 of 16 random bytes. */
export function sessionKey(): string {
  return randomBytes(16).toString('base64');
}

/** An openid of WeChat's shape (28 characters starting with `o`), fresh each call. */
export function openid(): string {
  return `o${randomBytes(21).toString('base64url').slice(0, 27)}`;
}

/** A session exchanged at `exchangedAt`, living three days. */
export function loginSession(overrides: Partial<LoginSession> = {}): LoginSession {
  const exchangedAt = overrides.exchangedAt ?? '2030-04-01T08:00:00.000Z';
  return {
    openid: openid(),
    sessionKey: sessionKey(),
    exchangedAt,
    expiresAt: new Date(Date.parse(exchangedAt) + 3 * 86_400_000).toISOString(),
    ...overrides,
  };
}

/**
 * What every LoginSessionStore must do, as the mini program use cases rely on it. It runs against the
 * DynamoDB store on DynamoDB Local (integration tier) and the in-memory one (unit tier), so the test
 * double cannot drift. `newStore` gives an empty store.
 */
export function loginSessionStoreContract(name: string, newStore: () => Promise<LoginSessionStore>): void {
  describe(`${name}: the LoginSessionStore contract`, () => {
    it('finds the session saved, unionid and all; none for an openid never saved', async () => {
      const store = await newStore();
      const withUnion = loginSession({ unionid: 'oUnion123' });
      const without = loginSession();
      expect(await store.save(withUnion)).toBe('saved');
      expect(await store.save(without)).toBe('saved');
      expect(await store.find(withUnion.openid)).toEqual(withUnion);
      expect(await store.find(without.openid)).toEqual(without);
      expect(await store.find(openid())).toBeUndefined();
    });

    it('keeps the later exchange of a user, whatever order the saves come in', async () => {
      const store = await newStore();
      const earlier = loginSession();
      const later = loginSession({
        openid: earlier.openid,
        exchangedAt: '2030-04-01T08:00:00.001Z',
        expiresAt: '2030-04-04T08:00:00.001Z',
      });
      expect(await store.save(later)).toBe('saved');
      expect(await store.save(earlier)).toBe('superseded');
      expect(await store.find(earlier.openid)).toEqual(later);

      const newest = { ...later, sessionKey: sessionKey(), exchangedAt: '2030-04-02T08:00:00.000Z' };
      expect(await store.save(newest)).toBe('saved');
      expect(await store.find(earlier.openid)).toEqual(newest);
    });

    it('keeps the first of two exchanges at the same instant', async () => {
      const store = await newStore();
      const first = loginSession();
      expect(await store.save(first)).toBe('saved');
      expect(await store.save({ ...first, sessionKey: sessionKey() })).toBe('superseded');
      expect(await store.find(first.openid)).toEqual(first);
    });

    it('keeps one session of many racing logins of a user: the latest', async () => {
      const store = await newStore();
      const user = openid();
      const sessions = Array.from({ length: 10 }, (_, i) =>
        loginSession({ openid: user, exchangedAt: new Date(Date.UTC(2030, 3, 1, 8, 0, i)).toISOString() }),
      );
      await Promise.all([...sessions].reverse().map((s) => store.save(s)));
      expect(await store.find(user)).toEqual(sessions.at(-1));
    });
  });
}
