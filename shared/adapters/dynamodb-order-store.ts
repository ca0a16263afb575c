import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AWAITING_PAYMENT, canStillChange, refusalOf, sourcesOf } from '../domain/lifecycle';
import type { Amount, LatePayment, Order, Prepay } from '../domain/order';
import type {
  CreateResult,
  DueOrder,
  NotificationRecord,
  OrderStore,
  RequeueResult,
  TransitionCommand,
  TransitionResult,
  UnverifiedNotification,
  WatchExtension,
} from '../domain/ports';
import { DynamoDbDueIndex } from './dynamodb-due-index';
import { ExpressionBuilder } from './dynamodb-expression';
import {
  appliedNotificationsOf,
  fromNotificationItem,
  fromOrderItem,
  orderKey,
  plainData,
  settledPaymentAttributes,
  toNotificationItem,
  toOrderItem,
  toUnverifiedItem,
} from './dynamodb-order-item';
import type { Item } from './dynamodb-order-item';
import {
  APPLIED_NOTIFICATIONS_ATTRIBUTE,
  CHECKS_EXHAUSTED_ATTRIBUTE,
  DEFAULT_NOTIFY_AUDIT_SHARDS,
  DUE_INDEX,
  NOTIFICATION_SORT_PREFIX,
  ORDER_SORT_KEY,
  orderPartition,
  PARTITION_KEY,
  SORT_KEY,
  SWEEP_REQUEUES_ATTRIBUTE,
} from './table-schema';

export interface DynamoDbOrderStoreOptions {
  tableName: string;
  /** Defaults to a client for the Lambda's own region and credentials. */
  client?: DynamoDBDocumentClient;
  /** How many partitions the unmatched and the unverified notifications each spread over (NOTIFY_AUDIT_SHARDS). */
  notifyAuditShards?: number;
  /** How many partitions the due index's entries spread over (DUE_INDEX_SHARDS); see dynamodb-due-index.ts. */
  dueIndexShards?: number;
}

/**
 * Orders in one DynamoDB table (see table-schema.ts). Every status change is one conditional
 * UpdateItem; a write refused by its condition is turned into a typed result from the item
 * DynamoDB returns with the refusal, so no second read is needed. Any other error (throttling,
 * a missing table, a network fault) propagates as the SDK raised it, for the caller to retry or fail.
 */
export class DynamoDbOrderStore implements OrderStore {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly dueIndex: DynamoDbDueIndex;
  private readonly notifyAuditShards: number;

  constructor(options: DynamoDbOrderStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? DynamoDBDocumentClient.from(new DynamoDBClient({}));
    this.notifyAuditShards = options.notifyAuditShards ?? DEFAULT_NOTIFY_AUDIT_SHARDS;
    this.dueIndex = new DynamoDbDueIndex({
      tableName: this.tableName,
      client: this.client,
      shards: options.dueIndexShards,
    });
  }

  async create(order: Order): Promise<CreateResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toOrderItem(order, this.dueIndex.keyFor(order.outTradeNo)),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'created', order: fromOrderItem(toOrderItem(order, this.dueIndex.keyFor(order.outTradeNo))) };
    } catch (error) {
      const refused = refusal(error);
      if (!refused?.item) throw error;
      return { kind: 'exists', order: fromOrderItem(refused.item) };
    }
  }

  async get(outTradeNo: string): Promise<Order | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: orderKey(outTradeNo), ConsistentRead: true }),
    );
    return item ? fromOrderItem(item) : undefined;
  }

  async transition(command: TransitionCommand): Promise<TransitionResult> {
    const sources = sourcesOf(command.to);
    // No state leads to the target (CREATED): nothing to write, only to report where the order is.
    if (sources.length === 0) return refusalOf(command, await this.get(command.outTradeNo));

    const expression = new ExpressionBuilder();
    const update = transitionUpdate(expression, command, this.dueIndex.keyFor(command.outTradeNo));
    const condition = [
      statusIn(expression, sources),
      ...(command.expectAmount ? [amountIs(expression, command.expectAmount)] : []),
    ].join(' AND ');
    const written = await this.updateOrder(command.outTradeNo, expression, update, condition);
    return written.kind === 'applied' ? written : refusalOf(command, written.current);
  }

  async extendWatch(outTradeNo: string, from: string, to: string): Promise<WatchExtension> {
    const expression = new ExpressionBuilder();
    // A check that completed clears the count of put-backs (requeueCheck's); the entry moves to the
    // order's shard (from the unsharded partition of an older release, or after the shard count changed).
    const update =
      `SET ${expression.name(DUE_INDEX.sortKey)} = ${expression.value('to', to)}, ` +
      `${expression.name(DUE_INDEX.partitionKey)} = ${expression.value('dueKey', this.dueIndex.keyFor(outTradeNo))} ` +
      `REMOVE ${expression.name(SWEEP_REQUEUES_ATTRIBUTE)}`;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: orderKey(outTradeNo),
          UpdateExpression: update,
          ConditionExpression: stillWatchedUntil(expression, from),
          ...expression.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'extended' };
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      const bound = refused.item?.[DUE_INDEX.partitionKey] === undefined ? undefined : refused.item[DUE_INDEX.sortKey];
      return typeof bound === 'string' ? { kind: 'superseded', bound } : { kind: 'superseded' };
    }
  }

  async requeueCheck(
    outTradeNo: string,
    nextCheckAt: string,
    maxRequeues: number,
    at = nextCheckAt,
  ): Promise<RequeueResult> {
    const names = {
      '#next': DUE_INDEX.sortKey,
      '#dueKey': DUE_INDEX.partitionKey,
      '#requeues': SWEEP_REQUEUES_ATTRIBUTE,
    };
    try {
      const { Attributes: updated } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: orderKey(outTradeNo),
          UpdateExpression: 'SET #next = :at, #dueKey = :dueKey ADD #requeues :one',
          // The bound is in the condition, so two sweeps at once cannot both pass it.
          ConditionExpression: 'attribute_exists(#dueKey) AND (attribute_not_exists(#requeues) OR #requeues < :max)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':at': nextCheckAt,
            ':dueKey': this.dueIndex.keyFor(outTradeNo),
            ':one': 1,
            ':max': maxRequeues,
          },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'requeued', requeues: Number(updated?.[SWEEP_REQUEUES_ATTRIBUTE]) };
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      if (refused.item?.[DUE_INDEX.partitionKey] === undefined) return { kind: 'not_due' };
    }
    try {
      const { Attributes: before } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: orderKey(outTradeNo),
          // Out of the sparse index, as a settled order is: the sweep stops finding it.
          UpdateExpression: 'SET #exhausted = :at REMOVE #dueKey, #next',
          ConditionExpression: 'attribute_exists(#dueKey) AND #requeues >= :max',
          ExpressionAttributeNames: { ...names, '#exhausted': CHECKS_EXHAUSTED_ATTRIBUTE },
          ExpressionAttributeValues: { ':at': at, ':max': maxRequeues },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { kind: 'exhausted', requeues: Number(before?.[SWEEP_REQUEUES_ATTRIBUTE]) };
    } catch (error) {
      // Settled, or its count cleared by a check that completed, since the first write was refused.
      if (!refusal(error)) throw error;
      return { kind: 'not_due' };
    }
  }

  async renewPrepay(outTradeNo: string, prepay: Prepay, at: string, watchAgainAt?: string): Promise<TransitionResult> {
    const expression = new ExpressionBuilder();
    let update =
      `SET ${expression.name('prepay')} = ${expression.value('prepay', plainData(prepay))}, ` +
      `${expression.name('updatedAt')} = ${expression.value('updatedAt', at)}`;
    if (watchAgainAt !== undefined) {
      // Back in the sparse index (its shard), counting put-backs from zero, no longer marked.
      const dueKey = expression.value('dueKey', this.dueIndex.keyFor(outTradeNo));
      update +=
        `, ${expression.name(DUE_INDEX.partitionKey)} = ${dueKey}` +
        `, ${expression.name(DUE_INDEX.sortKey)} = ${expression.value('next', watchAgainAt)}` +
        ` REMOVE ${expression.name(CHECKS_EXHAUSTED_ATTRIBUTE)}, ${expression.name(SWEEP_REQUEUES_ATTRIBUTE)}`;
    }
    const written = await this.updateOrder(outTradeNo, expression, update, statusIn(expression, AWAITING_PAYMENT));
    if (written.kind === 'applied') return written;
    return written.current ? { kind: 'conflict', order: written.current } : { kind: 'not_found' };
  }

  async recordNotification(record: NotificationRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toNotificationItem(record, this.notifyAuditShards),
          // Keyed by the body's hash: a duplicate WeChat resends is kept once, the first receipt.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        }),
      );
    } catch (error) {
      if (!refusal(error)) throw error;
    }
  }

  async recordUnverified(record: UnverifiedNotification): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: toUnverifiedItem(record, this.notifyAuditShards) }),
    );
  }

  async recordLatePayment(outTradeNo: string, payment: LatePayment): Promise<TransitionResult> {
    const expression = new ExpressionBuilder();
    const latePayment = expression.name('latePayment');
    const update = `SET ${latePayment} = ${expression.value('latePayment', plainData(payment))}`;
    // CLOSED and without one: the first late payment reported is the one kept.
    const condition = `${statusIn(expression, ['CLOSED'])} AND attribute_not_exists(${latePayment})`;
    const written = await this.updateOrder(outTradeNo, expression, update, condition);
    if (written.kind === 'applied') return written;
    if (!written.current) return { kind: 'not_found' };
    return written.current.latePayment
      ? { kind: 'already', order: written.current }
      : { kind: 'conflict', order: written.current };
  }

  /** The order's partition holds both kinds: its own items, and those kept on the order item. */
  async listNotifications(outTradeNo: string): Promise<NotificationRecord[]> {
    const records: NotificationRecord[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
          ExpressionAttributeValues: { ':pk': orderPartition(outTradeNo) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item[SORT_KEY] === ORDER_SORT_KEY) records.push(...appliedNotificationsOf(item));
        else if (String(item[SORT_KEY]).startsWith(NOTIFICATION_SORT_PREFIX)) records.push(fromNotificationItem(item));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
  }

  /** Reads every partition of the sharded index at once (see dynamodb-due-index.ts). */
  async findDue(now: string, limit: number): Promise<DueOrder[]> {
    return this.dueIndex.findDue(now, limit);
  }

  /**
   * One conditional UpdateItem on the order: the order as written, or as it stood when the
   * condition refused the write (undefined when there is no such order).
   */
  private async updateOrder(
    outTradeNo: string,
    expression: ExpressionBuilder,
    update: string,
    condition: string,
  ): Promise<{ kind: 'applied'; order: Order } | { kind: 'refused'; current: Order | undefined }> {
    try {
      const { Attributes: updated } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: orderKey(outTradeNo),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...expression.attributes(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'applied', order: fromOrderItem(updated as Item) };
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      return { kind: 'refused', current: refused.item && fromOrderItem(refused.item) };
    }
  }
}

// ---- Expressions ------------------------------------------------------------------------------

/** The condition of every transition: the order exists and is in a state the target is reached from. */
function statusIn(expression: ExpressionBuilder, sources: readonly string[]): string {
  return expression.isIn('status', 'from', sources);
}

/**
 * The watch clause of extendWatch: the order is in the due index with exactly this bound, so the chain
 * of checks that moves it on is the one that owns the order (a settled order has left the index; a
 * re-enqueued or already extended one has another bound).
 */
function stillWatchedUntil(expression: ExpressionBuilder, bound: string): string {
  return (
    `attribute_exists(${expression.name(DUE_INDEX.partitionKey)}) AND ` +
    `${expression.name(DUE_INDEX.sortKey)} = ${expression.value('from', bound)}`
  );
}

/** The amount clause: the order asks for exactly this amount (a payment must match the request). */
function amountIs(expression: ExpressionBuilder, amount: Amount): string {
  const request = expression.name('request');
  const amountName = expression.name('amount');
  const path = `${request}.${amountName}`;
  return (
    `${path}.${expression.name('total')} = ${expression.value('expectTotal', amount.total)} AND ` +
    `${path}.${expression.name('currency')} = ${expression.value('expectCurrency', amount.currency)}`
  );
}

/**
 * The update of a transition: the new status and its facts, the due-index membership that goes
 * with it, one history entry (stored without `from`; see fromOrderItem), and the notification that
 * reported it, if one did.
 */
function transitionUpdate(expression: ExpressionBuilder, command: TransitionCommand, dueKey: string): string {
  const set: string[] = [];
  const remove: string[] = [];
  const assign = (attribute: string, value: unknown): void => {
    set.push(`${expression.name(attribute)} = ${expression.value(attribute, value)}`);
  };

  assign('status', command.to);
  assign('updatedAt', command.at);
  if (command.prepay) assign('prepay', plainData(command.prepay));
  if (command.payment) assign('payment', plainData(command.payment));
  if (command.reason !== undefined) assign('reason', command.reason);
  // PAID is final, so the write that makes it is the one that files the order under its bill's day.
  // Without payment facts there is no amount to file: the domain always gives them with PAID.
  if (command.to === 'PAID' && command.payment) {
    for (const [attribute, value] of Object.entries(
      settledPaymentAttributes(command.outTradeNo, command.payment, command.at),
    )) {
      assign(attribute, value);
    }
  }

  if (!canStillChange(command.to)) {
    // A settled order is no longer due: leaving the sparse index is what stops the sweep.
    remove.push(expression.name(DUE_INDEX.partitionKey), expression.name(DUE_INDEX.sortKey));
  } else {
    assign(DUE_INDEX.partitionKey, dueKey);
    if (command.nextCheckAt !== undefined) assign(DUE_INDEX.sortKey, command.nextCheckAt);
  }

  const appendTo = (attribute: string, label: string, value: unknown): void => {
    const list = expression.name(attribute);
    const empty = expression.value('emptyList', []);
    set.push(`${list} = list_append(if_not_exists(${list}, ${empty}), ${expression.value(label, [value])})`);
  };
  appendTo(
    'history',
    'entry',
    plainData({ at: command.at, to: command.to, source: command.source, note: command.note }),
  );
  if (command.notification) appendTo(APPLIED_NOTIFICATIONS_ATTRIBUTE, 'notification', plainData(command.notification));

  return [`SET ${set.join(', ')}`, remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' ');
}

// ---- Refusals ---------------------------------------------------------------------------------

/**
 * A write refused by its condition, with the item as it was when refused (absent when there was
 * none); undefined for every other error. The refusal's item comes back in DynamoDB's wire format:
 * the document client converts results, not errors.
 */
function refusal(error: unknown): { item: Item | undefined } | undefined {
  if (!(error instanceof Error) || error.name !== 'ConditionalCheckFailedException') return undefined;
  const raw = (error as { Item?: Record<string, AttributeValue> }).Item;
  return { item: raw ? unmarshall(raw) : undefined };
}
