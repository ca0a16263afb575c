import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DynamoDbLoginSessionStore } from '#shared/adapters/dynamodb-login-session-store';
import { SessionKeySeal } from '#shared/adapters/session-key-seal';
import { matchesStreamFilter } from '#shared/adapters/stream-filter';
import { testTable } from '#test/helpers/aws';
import { loginSession, loginSessionStoreContract, openid } from '#test/helpers/login-session-store-contract';
import { TableStreamReader } from '#test/helpers/table-stream';

const APPID = 'wx0123456789abcdef';
const APP_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

async function storeOnTable(options: { appid?: string; appSecret?: string } = {}) {
  const table = await testTable();
  const store = (appid = options.appid ?? APPID, appSecret = options.appSecret ?? APP_SECRET) =>
    new DynamoDbLoginSessionStore({
      client: table.documentClient,
      tableName: table.tableName,
      appid,
      seal: new SessionKeySeal(appSecret),
    });
  return { ...table, store };
}

// What any LoginSessionStore must do is in the contract, which the in-memory store keeps too; a fresh table each.
loginSessionStoreContract('DynamoDbLoginSessionStore on DynamoDB Local', async () => (await storeOnTable()).store());

describe('DynamoDbLoginSessionStore', () => {
  it('stores a session as the table schema says, its key sealed: never the key itself', async () => {
    const { store, documentClient, tableName } = await storeOnTable();
    const session = loginSession({ unionid: 'oUnion42', expiresAt: '2030-04-04T08:00:00.500Z' });
    await store().save(session);
    const key = { pk: `MPSESSION#${session.openid}`, sk: 'MPSESSION' };
    const { Item: item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key }));
    expect(item).toEqual({
      ...key,
      openid: session.openid,
      unionid: 'oUnion42',
      appid: APPID,
      sealedSessionKey: expect.any(String),
      exchangedAt: session.exchangedAt,
      expiresAt: '2030-04-04T08:00:00.500Z',
      ttl: Math.ceil(Date.parse('2030-04-04T08:00:00.500Z') / 1000),
    });
    const raw = JSON.stringify(item);
    expect(raw).not.toContain(session.sessionKey);
    expect(raw).not.toContain(Buffer.from(session.sessionKey, 'base64').toString('hex'));
    expect(item).not.toHaveProperty('status');
  });

  it('finds nothing sealed under a replaced AppSecret, or for another appid: the user logs in again', async () => {
    const { store } = await storeOnTable();
    const session = loginSession();
    await store().save(session);
    expect(await store(APPID, 'b1b2c3d4e5f60718293a4b5c6d7e8f90').find(session.openid)).toBeUndefined();
    expect(await store('wxfedcba9876543210').find(session.openid)).toBeUndefined();
    expect(await store().find(session.openid)).toEqual(session);
  });

  it("does not open a sealed key copied onto another user's item", async () => {
    const { store, documentClient, tableName } = await storeOnTable();
    const victim = loginSession();
    await store().save(victim);
    const { Item: item } = await documentClient.send(
      new GetCommand({ TableName: tableName, Key: { pk: `MPSESSION#${victim.openid}`, sk: 'MPSESSION' } }),
    );
    const thief = openid();
    await documentClient.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...item, pk: `MPSESSION#${thief}`, openid: thief },
      }),
    );
    expect(await store().find(thief)).toBeUndefined();
  });

  it('fails a read of a malformed item, naming the attribute and no value', async () => {
    const { store, documentClient, tableName } = await storeOnTable();
    const session = loginSession();
    await store().save(session);
    const key = { pk: `MPSESSION#${session.openid}`, sk: 'MPSESSION' };
    const { Item: item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key }));
    await documentClient.send(new PutCommand({ TableName: tableName, Item: { ...item, exchangedAt: 'yesterday' } }));
    await expect(store().find(session.openid)).rejects.toThrow(/malformed login session item: exchangedAt/);
  });

  it('never reaches the events function: its writes do not pass the stream filter', async () => {
    const { store, client, tableName } = await storeOnTable();
    const session = loginSession();
    await store().save(session);
    await store().save({ ...session, exchangedAt: '2030-04-02T08:00:00.000Z' });
    const records = await new TableStreamReader(client, tableName).recordsOf(`MPSESSION#${session.openid}`);
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    for (const record of records) expect(matchesStreamFilter(record)).toBe(false);
    // Even one whose attributes happened to include an event status would not pass: the key decides.
    const last = records[1]?.dynamodb;
    const withStatus = { ...last?.NewImage, status: { S: 'PAID' } } as Record<string, AttributeValue>;
    const forged: DynamoDBRecord = { ...records[1], dynamodb: { ...last, NewImage: withStatus } };
    expect(matchesStreamFilter(forged)).toBe(false);
  });
});
