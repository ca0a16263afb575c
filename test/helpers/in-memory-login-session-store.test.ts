import { describe, expect, it } from 'vitest';
import { InMemoryLoginSessionStore } from '#test/helpers/in-memory-login-session-store';
import { loginSession, loginSessionStoreContract } from '#test/helpers/login-session-store-contract';

// The unit tier's store keeps the contract the DynamoDB store keeps on DynamoDB Local.
loginSessionStoreContract('InMemoryLoginSessionStore', async () => new InMemoryLoginSessionStore());

describe('InMemoryLoginSessionStore', () => {
  it('hands out copies: changing a found session changes nothing kept', async () => {
    const store = new InMemoryLoginSessionStore();
    const session = loginSession();
    await store.save(session);
    const found = await store.find(session.openid);
    found!.sessionKey = 'changed';
    expect(await store.find(session.openid)).toEqual(session);
  });
});
