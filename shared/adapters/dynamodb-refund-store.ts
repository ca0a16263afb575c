import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Order } from '../domain/order';
import type { NotificationRecord } from '../domain/ports';
import { MAX_REFUNDS_PER_ORDER, REFUND_STATUSES } from '../domain/refund';
import type { Refund } from '../domain/refund';
import { refundCanStillChange, refundHolding, refundSourcesOf } from '../domain/refund-lifecycle';
import type {
  DueRefund,
  RefundCreateResult,
  RefundStore,
  RefundTransitionCommand,
  RefundTransitionResult,
} from '../domain/refund-ports';
import { DynamoDbDueIndex } from './dynamodb-due-index';
import { ExpressionBuilder } from './dynamodb-expression';
import { fromOrderItem, orderKey, plainData } from './dynamodb-order-item';
import type { Item } from './dynamodb-order-item';
import {
  fromRefundItem,
  refundKey,
  refundNotificationsOf,
  revisionOf,
  settledRefundAttributes,
  toRefundItem,
} from './dynamodb-refund-item';
import { checkNewRefund, refundAgrees, refundRefusalOf } from './refund-store-rules';
import {
  APPLIED_NOTIFICATIONS_ATTRIBUTE,
  DUE_INDEX,
  orderPartition,
  PARTITION_KEY,
  REFUND_COUNTERS,
  REFUND_NUMBER_OWNER_ATTRIBUTE,
  REFUND_NUMBER_SORT_KEY,
  REFUND_REVISION_ATTRIBUTE,
  REFUND_SORT_PREFIX,
  refundNumberPartition,
  SORT_KEY,
} from './table-schema';

export interface DynamoDbRefundStoreOptions {
  tableName: string;
  /** Defaults to a client for the Lambda's own region and credentials. */
  client?: DynamoDBDocumentClient;
  /** How many partitions the due index's refund entries spread over (DUE_INDEX_SHARDS); see dynamodb-due-index.ts. */
  dueIndexShards?: number;
}

/**
 * How often a transaction cancelled only because another one held the same item (TransactionConflict:
 * concurrent refunds of one order, duplicate notifications at once) is tried again before the error is
 * left to the caller, and the first pause (doubling, with full jitter).
 */
const CONFLICT_ATTEMPTS = 10;
const CONFLICT_PAUSE_MS = 15;

/** The statuses a refund can still leave: those recordAcceptance writes to. */
const OPEN_STATUSES = REFUND_STATUSES.filter(refundCanStillChange);

/**
 * Refunds in the orders table (see table-schema.ts), each in its order's partition. A refund's creation
 * and each of its status changes is ONE TransactWriteItems with the order's counters, so the invariant
 * (refunded + pending ≤ paid, at most MAX_REFUNDS_PER_ORDER) is enforced by the write itself: of two
 * concurrent refunds that do not both fit, DynamoDB accepts one. The creation also claims its
 * out_refund_no merchant-wide (unique per merchant at WeChat), so two orders never share one. A refusal
 * is read from the items DynamoDB returns with the cancellation, so no second read is needed to say
 * why. Other errors (throttling, a missing table, a network fault) propagate as the SDK raised them.
 */
export class DynamoDbRefundStore implements RefundStore {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly dueIndex: DynamoDbDueIndex;

  constructor(options: DynamoDbRefundStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? DynamoDBDocumentClient.from(new DynamoDBClient({}));
    this.dueIndex = new DynamoDbDueIndex({
      tableName: this.tableName,
      client: this.client,
      shards: options.dueIndexShards,
    });
  }

  async createRefund(refund: Refund): Promise<RefundCreateResult> {
    checkNewRefund(refund);
    const item = toRefundItem(refund, this.dueIndex.refundKeyFor(refund.outTradeNo, refund.outRefundNo));
    const input = this.creation(item, refund);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new TransactWriteCommand(input));
        const order = await this.readOrder(refund.outTradeNo);
        if (!order) throw new Error(`order ${refund.outTradeNo} vanished after its refund was created`);
        return { kind: 'created', refund: fromRefundItem(item), order };
      } catch (error) {
        const reasons = cancellation(error);
        if (!reasons) throw error;
        const [put, update, claim] = reasons;
        // Checked first: a retry of a created refund is answered with it, however the order stands now.
        if (put?.code === 'ConditionalCheckFailed' && put.item)
          return { kind: 'exists', refund: fromRefundItem(put.item) };
        // Then the number: held by another order's refund, whatever this order's state.
        if (claim?.code === 'ConditionalCheckFailed') {
          const owner = claim.item?.[REFUND_NUMBER_OWNER_ATTRIBUTE];
          if (typeof owner !== 'string') throw error;
          return { kind: 'out_refund_no_used', outTradeNo: owner };
        }
        if (update?.code === 'ConditionalCheckFailed') {
          const refused = creationRefusal(refund, update.item);
          if (refused) return refused;
        } else if (!reasons.some((reason) => reason.code === 'TransactionConflict')) {
          throw error;
        }
        if (attempt >= CONFLICT_ATTEMPTS) throw error;
        await pause(attempt);
      }
    }
  }

  async getRefund(outTradeNo: string, outRefundNo: string): Promise<Refund | undefined> {
    const item = await this.readRefundItem(outTradeNo, outRefundNo);
    return item && fromRefundItem(item);
  }

  /** One Query of the order's partition (the refunds sort by out_refund_no there), put oldest first. */
  async listRefunds(outTradeNo: string): Promise<Refund[]> {
    const refunds: Refund[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :refunds)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: { ':pk': orderPartition(outTradeNo), ':refunds': REFUND_SORT_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      refunds.push(...(page.Items ?? []).map(fromRefundItem));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return refunds.sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.outRefundNo, b.outRefundNo));
  }

  /**
   * Reads the refund (its amount is what the counters move by), then writes the refund and the order's
   * counters in one transaction, conditional on the refund's status being a source of `to` and on its
   * revision being the one read: the refund returned is the one written, with no read after. A refund
   * changed in between (its next check moved) is tried again from the item the refusal returns.
   */
  async transitionRefund(command: RefundTransitionCommand): Promise<RefundTransitionResult> {
    const sources = refundSourcesOf(command.to);
    let current = await this.readRefundItem(command.outTradeNo, command.outRefundNo);
    for (let attempt = 1; ; attempt += 1) {
      if (!current) return { kind: 'not_found' };
      const refund = fromRefundItem(current);
      // Refused as the condition would refuse it: nothing to write (duplicates end here, at one read).
      if (!sources.includes(refund.status) || !refundAgrees(command, refund)) return refundRefusalOf(command, refund);

      const { input, written } = this.transition(command, current, refund);
      try {
        await this.client.send(new TransactWriteCommand(input));
        return { kind: 'applied', refund: fromRefundItem(written) };
      } catch (error) {
        const reasons = cancellation(error);
        if (!reasons) throw error;
        const [refundReason, orderReason] = reasons;
        if (refundReason?.code === 'ConditionalCheckFailed') {
          // Changed since it was read: decide again from the refund as it is.
          if (attempt >= CONFLICT_ATTEMPTS) throw error;
          current = refundReason.item;
          continue;
        }
        if (orderReason?.code === 'ConditionalCheckFailed') {
          throw new Error(`refund ${command.outRefundNo} has no order ${command.outTradeNo}`);
        }
        if (!reasons.some((reason) => reason.code === 'TransactionConflict')) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) throw error;
        await pause(attempt);
        current = await this.readRefundItem(command.outTradeNo, command.outRefundNo);
      }
    }
  }

  async recordAcceptance(
    outTradeNo: string,
    outRefundNo: string,
    acceptance: { acceptedAt: string; refundId?: string },
  ): Promise<Refund | undefined> {
    const expression = new ExpressionBuilder();
    const acceptedAt = expression.name('acceptedAt');
    const revision = expression.name(REFUND_REVISION_ATTRIBUTE);
    // The first acceptance is when WeChat took it; a later answer repeating it does not move it.
    const set = [
      `${acceptedAt} = if_not_exists(${acceptedAt}, ${expression.value('acceptedAt', acceptance.acceptedAt)})`,
    ];
    if (acceptance.refundId !== undefined) {
      set.push(`${expression.name('refundId')} = ${expression.value('refundId', acceptance.refundId)}`);
    }
    try {
      const { Attributes: updated } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: refundKey(outTradeNo, outRefundNo),
          UpdateExpression: `SET ${set.join(', ')} ADD ${revision} ${expression.value('one', 1)}`,
          // A missing refund has no status: the condition refuses it too, and creates no item.
          ConditionExpression: expression.isIn('status', 'open', OPEN_STATUSES),
          ...expression.attributes(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromRefundItem(updated as Item);
    } catch (error) {
      if (isConditionRefusal(error)) return undefined;
      throw error;
    }
  }

  async setRefundNextCheck(outTradeNo: string, outRefundNo: string, nextCheckAt: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: refundKey(outTradeNo, outRefundNo),
          // The entry moves to the refund's shard too (after the shard count changed).
          UpdateExpression: 'SET #next = :next, #dueKey = :dueKey ADD #revision :one',
          // Only refunds still in the due index: a final or missing refund is left alone.
          ConditionExpression: 'attribute_exists(#dueKey)',
          ExpressionAttributeNames: {
            '#next': DUE_INDEX.sortKey,
            '#dueKey': DUE_INDEX.partitionKey,
            '#revision': REFUND_REVISION_ATTRIBUTE,
          },
          ExpressionAttributeValues: {
            ':next': nextCheckAt,
            ':dueKey': this.dueIndex.refundKeyFor(outTradeNo, outRefundNo),
            ':one': 1,
          },
        }),
      );
    } catch (error) {
      if (!isConditionRefusal(error)) throw error;
    }
  }

  /** Reads every refund shard of the due index at once (never the orders'; see dynamodb-due-index.ts). */
  async findDueRefunds(now: string, limit: number): Promise<DueRefund[]> {
    return this.dueIndex.findDueRefunds(now, limit);
  }

  /** Not part of the port: the notifications that changed a refund, kept on its item. */
  async refundNotifications(outTradeNo: string, outRefundNo: string): Promise<NotificationRecord[]> {
    const item = await this.readRefundItem(outTradeNo, outRefundNo);
    return item ? refundNotificationsOf(item) : [];
  }

  private async readRefundItem(outTradeNo: string, outRefundNo: string): Promise<Item | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: refundKey(outTradeNo, outRefundNo), ConsistentRead: true }),
    );
    return item;
  }

  private async readOrder(outTradeNo: string): Promise<Order | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: orderKey(outTradeNo), ConsistentRead: true }),
    );
    return item && fromOrderItem(item);
  }

  /**
   * The creation: the refund put if absent, the order's counters added to if the order is PAID for the
   * refund's total, has fewer than MAX_REFUNDS_PER_ORDER refunds, and has room for this one, and the
   * out_refund_no claimed for the order merchant-wide (see table-schema.ts). The claim is put if absent
   * or already this order's, so a retry of this order's refund is refused by the refund's Put alone and
   * reads as `exists`. Every item returns its old self on refusal: the reason is read from them.
   */
  private creation(item: Item, refund: Refund): TransactWriteCommandInput {
    const fen = refund.amount.refund;
    const total = refund.amount.total;
    const order = new ExpressionBuilder();
    const count = order.name(REFUND_COUNTERS.count);
    const committed = order.name(REFUND_COUNTERS.committed);
    const refundValue = order.value('refund', fen);
    const totalValue = order.value('total', total);
    const update =
      `ADD ${order.name(REFUND_COUNTERS.pending)} ${refundValue}, ${committed} ${refundValue}, ` +
      `${count} ${order.value('one', 1)}, ${order.name(REFUND_COUNTERS.refunded)} ${order.value('zero', 0)}`;
    const condition = [
      `${order.name('status')} = ${order.value('paid', 'PAID')}`,
      `${order.name('payment')}.${order.name('amountTotal')} = ${totalValue}`,
      `(attribute_not_exists(${count}) OR ${count} < ${order.value('max', MAX_REFUNDS_PER_ORDER)})`,
      // committed ≤ paid − refund, one comparison; before the first refund, the refund alone must fit.
      `(${committed} <= ${order.value('limit', total - fen)} OR ` +
        `(attribute_not_exists(${committed}) AND ${refundValue} <= ${totalValue}))`,
    ].join(' AND ');
    return {
      TransactItems: [
        {
          Put: {
            TableName: this.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: orderKey(refund.outTradeNo),
            UpdateExpression: update,
            ConditionExpression: condition,
            ...order.attributes(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: {
              [PARTITION_KEY]: refundNumberPartition(refund.outRefundNo),
              [SORT_KEY]: REFUND_NUMBER_SORT_KEY,
              [REFUND_NUMBER_OWNER_ATTRIBUTE]: refund.outTradeNo,
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR #owner = :owner',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#owner': REFUND_NUMBER_OWNER_ATTRIBUTE },
            ExpressionAttributeValues: { ':owner': refund.outTradeNo },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    };
  }

  /**
   * The transition of `refund` (as `current` holds it) to command.to: the refund's update, and the
   * order's counters moved from what its status holds to what `to` holds (omitted when that is the
   * same: PROCESSING → ABNORMAL). Also the item as it will be once written.
   */
  private transition(
    command: RefundTransitionCommand,
    current: Item,
    refund: Refund,
  ): { input: TransactWriteCommandInput; written: Item } {
    const expression = new ExpressionBuilder();
    const written: Item = { ...current, [REFUND_REVISION_ATTRIBUTE]: revisionOf(current) + 1 };
    const set: string[] = [];
    const remove: string[] = [];
    const assign = (attribute: string, value: unknown): void => {
      set.push(`${expression.name(attribute)} = ${expression.value(attribute, value)}`);
      written[attribute] = value;
    };
    const appendTo = (attribute: string, value: unknown): void => {
      const list = expression.name(attribute);
      const empty = expression.value('emptyList', []);
      set.push(
        `${list} = list_append(if_not_exists(${list}, ${empty}), ${expression.value(`${attribute}Entry`, [value])})`,
      );
      written[attribute] = [...((current[attribute] as unknown[] | undefined) ?? []), value];
    };

    assign('status', command.to);
    assign('updatedAt', command.at);
    if (command.refundId !== undefined) assign('refundId', command.refundId);
    if (command.successTime !== undefined) assign('successTime', command.successTime);
    if (command.userReceivedAccount !== undefined) assign('userReceivedAccount', command.userReceivedAccount);
    if (command.failure) assign('failure', plainData(command.failure));
    // SUCCESS is final: the write that makes it files the refund under its bill's day. The refund as
    // read knows when WeChat accepted it, and the revision condition keeps that read current.
    if (command.to === 'SUCCESS') {
      const settled = settledRefundAttributes(refund, command.refundId ?? refund.refundId, command.at);
      for (const [attribute, value] of Object.entries(settled)) assign(attribute, value);
    }
    if (!refundCanStillChange(command.to)) {
      // A final refund leaves the sparse index: that is what stops the sweep.
      remove.push(expression.name(DUE_INDEX.partitionKey), expression.name(DUE_INDEX.sortKey));
      delete written[DUE_INDEX.partitionKey];
      delete written[DUE_INDEX.sortKey];
    } else {
      assign(DUE_INDEX.partitionKey, this.dueIndex.refundKeyFor(command.outTradeNo, command.outRefundNo));
      if (command.nextCheckAt !== undefined) assign(DUE_INDEX.sortKey, command.nextCheckAt);
    }
    appendTo('history', plainData({ at: command.at, to: command.to, source: command.source, note: command.note }));
    if (command.notification) appendTo(APPLIED_NOTIFICATIONS_ATTRIBUTE, plainData(command.notification));
    const revision = expression.name(REFUND_REVISION_ATTRIBUTE);
    set.push(`${revision} = ${expression.value('nextRevision', revisionOf(current) + 1)}`);

    const conditions = [
      expression.isIn('status', 'from', refundSourcesOf(command.to)),
      `${revision} = ${expression.value('revision', revisionOf(current))}`,
    ];
    // Never undone behind WeChat's back: an acceptance recorded since the read refuses the write.
    if (command.expectUnaccepted) conditions.push(`attribute_not_exists(${expression.name('acceptedAt')})`);
    if (command.expectAmount) {
      const amount = `${expression.name('amount')}`;
      conditions.push(
        `${amount}.${expression.name('refund')} = ${expression.value('expectRefund', command.expectAmount.refund)}`,
        `${amount}.${expression.name('total')} = ${expression.value('expectTotal', command.expectAmount.total)}`,
      );
    }

    const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      {
        Update: {
          TableName: this.tableName,
          Key: refundKey(command.outTradeNo, command.outRefundNo),
          UpdateExpression: [`SET ${set.join(', ')}`, remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '']
            .filter(Boolean)
            .join(' '),
          ConditionExpression: conditions.join(' AND '),
          ...expression.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ];
    const counters = counterMoves(refund, command.to);
    if (counters.length > 0) {
      const order = new ExpressionBuilder();
      const adds = counters.map(([counter, delta]) => `${order.name(counter)} ${order.value(counter, delta)}`);
      items.push({
        Update: {
          TableName: this.tableName,
          Key: orderKey(command.outTradeNo),
          UpdateExpression: `ADD ${adds.join(', ')}`,
          ConditionExpression: `attribute_exists(${order.name(PARTITION_KEY)})`,
          ...order.attributes(),
        },
      });
    }
    return { input: { TransactItems: items }, written };
  }
}

/**
 * What the order's counters are added when `refund` moves to `to`: its fen leave what its status holds
 * and join what `to` holds (committed is refunded + pending, so it moves only when the refund is released).
 */
function counterMoves(refund: Refund, to: Refund['status']): Array<[string, number]> {
  const fen = refund.amount.refund;
  const from = refundHolding(refund.status);
  const into = refundHolding(to);
  if (from === into) return [];
  const moves = new Map<string, number>();
  const add = (counter: string, delta: number): void => {
    moves.set(counter, (moves.get(counter) ?? 0) + delta);
  };
  if (from !== 'none') {
    add(REFUND_COUNTERS[from], -fen);
    add(REFUND_COUNTERS.committed, -fen);
  }
  if (into !== 'none') {
    add(REFUND_COUNTERS[into], fen);
    add(REFUND_COUNTERS.committed, fen);
  }
  return [...moves].filter(([, delta]) => delta !== 0);
}

/** Why the order refused a creation, from the order item as it was (undefined: refused for no reason it shows). */
function creationRefusal(refund: Refund, item: Item | undefined): RefundCreateResult | undefined {
  if (!item) return { kind: 'order_not_found' };
  const order = fromOrderItem(item);
  if (order.status !== 'PAID') return { kind: 'order_not_paid', order };
  if (order.payment?.amountTotal !== refund.amount.total) {
    throw new Error("a refund's amount.total must be the order's paid amount");
  }
  const totals = order.refunds ?? { refunded: 0, pending: 0, count: 0 };
  if (totals.count >= MAX_REFUNDS_PER_ORDER) return { kind: 'too_many_refunds', order };
  if (totals.refunded + totals.pending + refund.amount.refund > refund.amount.total) {
    return { kind: 'amount_exceeded', order };
  }
  return undefined;
}

interface CancellationReason {
  code: string | undefined;
  /** The item as it was, where the write asked for it (in the document client's form). */
  item: Item | undefined;
}

/**
 * The reasons of a cancelled transaction, one per item in order; undefined for every other error. The
 * items come back in DynamoDB's wire format: the document client converts results, not errors.
 */
function cancellation(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string; Item?: Record<string, AttributeValue> }> })
    .CancellationReasons;
  return (reasons ?? []).map((reason) => ({
    code: reason.Code,
    item: reason.Item ? unmarshall(reason.Item) : undefined,
  }));
}

function isConditionRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Full jitter: concurrent writers that collided spread out instead of colliding again. */
function pause(attempt: number): Promise<void> {
  return sleep(Math.random() * CONFLICT_PAUSE_MS * 2 ** Math.min(attempt, 6));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
