import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { encryptResource } from './aead';
import type { EncryptedResource } from './aead';
import { toWechatTime } from './time-format';
import { signWechatpayMessage } from './wechatpay-signature';

/**
 * WeChat's side of a payment notification (simulator, tests): the transaction encrypted under the
 * APIv3 key (associated_data "transaction"), wrapped in the envelope, the raw body signed.
 */

export interface NotificationEnvelope {
  id: string;
  create_time: string;
  resource_type: 'encrypt-resource';
  event_type: string;
  summary: string;
  resource: EncryptedResource;
}

export function buildTransactionNotification(opts: {
  /** The transaction as the query API would answer it (appid, mchid, out_trade_no, trade_state, …). */
  transaction: Record<string, unknown>;
  apiV3Key: string | Buffer;
  signer: { privateKey: KeyObject; serial: string };
  now: Date;
  id?: string;
  eventType?: string;
  summary?: string;
}): { headers: Record<string, string>; body: string; envelope: NotificationEnvelope } {
  const envelope: NotificationEnvelope = {
    id: opts.id ?? randomUUID(),
    create_time: toWechatTime(opts.now),
    resource_type: 'encrypt-resource',
    event_type: opts.eventType ?? 'TRANSACTION.SUCCESS',
    summary: opts.summary ?? '支付成功',
    resource: encryptResource(JSON.stringify(opts.transaction), opts.apiV3Key, {
      associatedData: 'transaction',
      originalType: 'transaction',
    }),
  };
  const body = JSON.stringify(envelope);
  const headers = { ...signWechatpayMessage(body, opts.signer, { now: opts.now }), 'Content-Type': 'application/json' };
  return { headers, body, envelope };
}
