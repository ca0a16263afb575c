import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { buildTransactionNotification } from '#shared/wechatpay/v3/testing/wechat-messages';
import { HEADER_SIGNATURE } from '#shared/wechatpay/v3/wechatpay-signature';
import type { Clock } from '../clock';
import type { NotificationFormat } from '../notification-scheduler';
import type { SimOrder } from '../order-model';
import { transactionOf } from './transaction';

/**
 * The v3 payment notification: a JSON envelope (event_type TRANSACTION.SUCCESS) whose resource is
 * the transaction, AES-256-GCM-encrypted under the APIv3 key (associated_data "transaction"), the
 * raw body signed with the platform key; fresh timestamp and signature on every attempt, the same
 * envelope id for every attempt of one notification. Acknowledged by HTTP 200 or 204, whatever the
 * body. v3 has no payment-failure notification, so a FAIL payment notifies nothing.
 */
export function v3NotificationFormat(deps: {
  apiV3Key: string;
  signer: { privateKey: KeyObject; serial: string };
  clock: Clock;
}): NotificationFormat {
  return {
    sends: (event) => event === 'SUCCESS',

    encode(order, _event, tamper) {
      // "change_amount" is a correctly encrypted and signed notification for an amount the merchant did not ask for.
      const transaction = transactionOf(order, { amountShift: tamper === 'change_amount' ? 1 : 0 });
      const built = buildTransactionNotification({
        transaction,
        apiV3Key: deps.apiV3Key,
        signer: deps.signer,
        now: new Date(deps.clock.now()),
        id: notificationId(order),
      });
      const headers = { ...built.headers };
      const signature = headers[HEADER_SIGNATURE];
      // Same length and alphabet, wrong value: the receiver must verify, not only look at the shape.
      if (tamper === 'corrupt_sign' && signature !== undefined) headers[HEADER_SIGNATURE] = corrupted(signature);
      return { body: built.body, headers };
    },

    isAcknowledged: (httpStatus) => httpStatus === 200 || httpStatus === 204,
  };
}

/** A UUID-shaped id, stable for one notification job (WeChat keeps the id across retries). */
function notificationId(order: SimOrder): string {
  const hex = createHash('sha256')
    .update(`${order.outTradeNo}/${order.notification?.id ?? ''}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function corrupted(signature: string): string {
  const first = signature[0] === 'A' ? 'B' : 'A';
  return `${first}${signature.slice(1)}`;
}
