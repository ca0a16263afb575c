import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';

import type { LoginSession, LoginSessionStore, SaveSessionResult } from '../domain/miniprogram-session';
import { SESSION_KEY_PATTERN } from '../wechatpay/miniprogram/login-client';
import { ExpressionBuilder } from './dynamodb-expression';
import type { SessionKeySeal } from './session-key-seal';
import { loginSessionKey, PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

export interface DynamoDbLoginSessionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The mini program's appid: kept on each item, and bound to its sealed key. */
  appid: string;
  /** Seals the session keys under the current AppSecret (session-key-seal.ts). */
  seal: SessionKeySeal;
}

/** The attribute that holds the sealed session key; the plain key is never written. */
export const SEALED_SESSION_KEY_ATTRIBUTE = 'sealedSessionKey';

/** A session item as stored (see table-schema.ts); read back strictly: a malformed one is an error. */
const sessionItem = z.object({
  openid: z.string().min(1),
  unionid: z.string().min(1).optional(),
  appid: z.string().min(1),
  [SEALED_SESSION_KEY_ATTRIBUTE]: z.string().min(1),
  exchangedAt: z.iso.datetime({ precision: 3 }),
  expiresAt: z.iso.datetime(),
});

/**
 * Each mini program user's current login session in the orders table, one item per openid (see
 * table-schema.ts), its session key sealed (session-key-seal.ts). Of two logins of one user the later
 * exchange wins, whatever order their writes land in: the put is conditional on the kept one being
 * older. The items carry no `status`, so the table's stream filter never hands them to the events
 * function. Errors other than the put's refusal propagate as the SDK raised them.
 */
export class DynamoDbLoginSessionStore implements LoginSessionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly appid: string;
  private readonly seal: SessionKeySeal;

  constructor(options: DynamoDbLoginSessionStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.appid = options.appid;
    this.seal = options.seal;
  }

  async save(session: LoginSession): Promise<SaveSessionResult> {
    const { openid, unionid, sessionKey, exchangedAt, expiresAt } = session;
    const expression = new ExpressionBuilder();
    const condition =
      `attribute_not_exists(${expression.name(PARTITION_KEY)}) OR ` +
      `${expression.name('exchangedAt')} < ${expression.value('exchangedAt', exchangedAt)}`;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...loginSessionKey(openid),
            openid,
            ...(unionid === undefined ? {} : { unionid }),
            appid: this.appid,
            [SEALED_SESSION_KEY_ATTRIBUTE]: this.seal.seal(sessionKey, { appid: this.appid, openid }),
            exchangedAt,
            expiresAt,
            // DynamoDB deletes the item some time after this; the store's readers check expiresAt themselves.
            [TTL_ATTRIBUTE]: Math.ceil(Date.parse(expiresAt) / 1000),
          },
          ConditionExpression: condition,
          ...expression.attributes(),
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'superseded';
      throw error;
    }
  }

  async find(openid: string): Promise<LoginSession | undefined> {
    // Consistent: a decryption follows its login within a second or two.
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: loginSessionKey(openid), ConsistentRead: true }),
    );
    if (item === undefined) return undefined;
    const parsed = sessionItem.safeParse(item);
    if (!parsed.success || parsed.data.openid !== openid) {
      const field = parsed.success ? 'openid' : parsed.error.issues[0]?.path.join('.');
      // Names the attribute at fault, never a value: the item holds a sealed key.
      throw new Error(`malformed login session item: ${field ?? 'item'}`);
    }
    const stored = parsed.data;
    // Sealed under another AppSecret or for another appid (the associated data): as good as none.
    const sessionKey = this.seal.unseal(stored[SEALED_SESSION_KEY_ATTRIBUTE], { appid: this.appid, openid });
    if (sessionKey === undefined) return undefined;
    // An unsealed key must be as WeChat gives it, or the item is not ours.
    if (!SESSION_KEY_PATTERN.test(sessionKey)) throw new Error('malformed login session item: sealed key');
    return {
      openid,
      ...(stored.unionid === undefined ? {} : { unionid: stored.unionid }),
      sessionKey,
      exchangedAt: stored.exchangedAt,
      expiresAt: stored.expiresAt,
    };
  }
}
