import { describe, expect, it } from 'vitest';

import {
  classifyDynamoDb,
  classifySqs,
  classifyWechat,
  consumedCapacity,
  DYNAMODB_READS,
  DYNAMODB_WRITES,
  operationOf,
  withConsumedCapacity,
} from '#bench/aws-classify';
import { addToTally, billedUnitsByOp, emptyTally } from '#bench/counting-proxy';

describe('DynamoDB requests', () => {
  it('reads the operation from X-Amz-Target and sorts reads, writes and set-up apart', () => {
    expect(operationOf('DynamoDB_20120810.GetItem')).toBe('GetItem');
    expect(operationOf(undefined)).toBeUndefined();
    expect(classifyDynamoDb('DynamoDB_20120810.GetItem', '{}')).toMatchObject({ op: 'GetItem', kind: 'read' });
    expect(classifyDynamoDb('DynamoDB_20120810.Query', '{}')).toMatchObject({ kind: 'read' });
    expect(classifyDynamoDb('DynamoDB_20120810.UpdateItem', '{}')).toMatchObject({ op: 'UpdateItem', kind: 'write' });
    expect(classifyDynamoDb('DynamoDB_20120810.TransactWriteItems', '{}')).toMatchObject({ kind: 'write' });
    expect(classifyDynamoDb('DynamoDB_20120810.DescribeTable', '{}')).toMatchObject({ kind: 'control' });
  });

  it('takes the consumed capacity from the answer, summed over a batch', () => {
    expect(
      classifyDynamoDb('DynamoDB_20120810.PutItem', '{"ConsumedCapacity":{"TableName":"t","CapacityUnits":3}}')
        .capacityUnits,
    ).toBe(3);
    expect(consumedCapacity('{"ConsumedCapacity":[{"CapacityUnits":1},{"CapacityUnits":2.5}]}')).toEqual({
      total: 3.5,
    });
    // A refused conditional write carries no capacity in its error answer.
    expect(
      classifyDynamoDb('DynamoDB_20120810.UpdateItem', '{"__type":"ConditionalCheckFailedException"}').capacityUnits,
    ).toBeUndefined();
    expect(consumedCapacity('not json')).toEqual({});
    expect(consumedCapacity('{}')).toEqual({});
  });

  it('splits a put’s capacity into the table and its indexes (ReturnConsumedCapacity INDEXES)', () => {
    const answer = JSON.stringify({
      ConsumedCapacity: {
        TableName: 't',
        CapacityUnits: 2,
        Table: { CapacityUnits: 1 },
        GlobalSecondaryIndexes: { 'events-index': { CapacityUnits: 1 } },
      },
    });
    expect(consumedCapacity(answer)).toEqual({ total: 2, table: 1, indexes: 1 });
  });

  it('asks data requests, and only them, to report consumed capacity', () => {
    const asked = JSON.parse(withConsumedCapacity('DynamoDB_20120810.GetItem', '{"TableName":"t","Key":{}}')) as Record<
      string,
      unknown
    >;
    expect(asked).toEqual({ TableName: 't', Key: {}, ReturnConsumedCapacity: 'TOTAL' });
    expect(withConsumedCapacity('DynamoDB_20120810.PutItem', '{"TableName":"t"}', 'INDEXES')).toBe(
      '{"TableName":"t","ReturnConsumedCapacity":"INDEXES"}',
    );
    expect(withConsumedCapacity('DynamoDB_20120810.CreateTable', '{"TableName":"t"}')).toBe('{"TableName":"t"}');
    expect(withConsumedCapacity('DynamoDB_20120810.GetItem', '{"ReturnConsumedCapacity":"INDEXES"}')).toBe(
      '{"ReturnConsumedCapacity":"INDEXES"}',
    );
    expect(withConsumedCapacity('DynamoDB_20120810.GetItem', 'garbage')).toBe('garbage');
  });
});

describe('SQS requests', () => {
  it('tells a receive that brought messages from an idle poll', () => {
    expect(classifySqs('AmazonSQS.ReceiveMessage', '{"Messages":[{"MessageId":"1"}]}')).toMatchObject({
      kind: 'receive',
    });
    expect(classifySqs('AmazonSQS.ReceiveMessage', '{}')).toMatchObject({ kind: 'receive-empty' });
    expect(classifySqs('AmazonSQS.ReceiveMessage', '{"Messages":[]}')).toMatchObject({ kind: 'receive-empty' });
  });

  it('sorts sends, deletes and set-up', () => {
    expect(classifySqs('AmazonSQS.SendMessage', '{}')).toMatchObject({ op: 'SendMessage', kind: 'send' });
    expect(classifySqs('AmazonSQS.DeleteMessageBatch', '{}')).toMatchObject({ kind: 'delete' });
    expect(classifySqs('AmazonSQS.GetQueueAttributes', '{}')).toMatchObject({ kind: 'control' });
  });
});

describe('WeChat Pay requests', () => {
  it('counts the v2 API paths as calls and anything else as control', () => {
    expect(classifyWechat('/pay/unifiedorder')).toEqual({ service: 'wechat', op: 'unifiedorder', kind: 'call' });
    expect(classifyWechat('/pay/closeorder?x=1')).toMatchObject({ op: 'closeorder', kind: 'call' });
    expect(classifyWechat('/secapi/pay/refund')).toMatchObject({ op: 'refund', kind: 'call' });
    expect(classifyWechat('/sandbox/orders/A1/pay')).toMatchObject({ kind: 'control' });
  });
});

describe('tally', () => {
  it('counts by kind and operation, and remembers how many answers reported capacity', () => {
    const tally = emptyTally();
    addToTally(tally, { service: 'dynamodb', op: 'PutItem', kind: 'write', capacityUnits: 2 }, 5);
    addToTally(tally, { service: 'dynamodb', op: 'UpdateItem', kind: 'write' }, 7);
    addToTally(tally, { service: 'dynamodb', op: 'GetItem', kind: 'read', capacityUnits: 1 }, 3);
    expect(tally).toEqual({
      byKind: { write: 2, read: 1 },
      byOp: { PutItem: 1, UpdateItem: 1, GetItem: 1 },
      capacityByKind: { write: 2, read: 1 },
      reportedByKind: { write: 1, read: 1 },
      capacityByOp: { PutItem: 2, GetItem: 1 },
      reportedByOp: { PutItem: 1, GetItem: 1 },
      msByOp: { PutItem: 5, UpdateItem: 7, GetItem: 3 },
    });
  });

  it('bills write units per operation, a unit for each answer that reported none, only for the kinds asked', () => {
    const tally = emptyTally();
    addToTally(tally, { service: 'dynamodb', op: 'PutItem', kind: 'write', capacityUnits: 2 });
    addToTally(tally, { service: 'dynamodb', op: 'UpdateItem', kind: 'write', capacityUnits: 3 });
    // A conditional update refused: DynamoDB reports nothing, yet bills a unit.
    addToTally(tally, { service: 'dynamodb', op: 'UpdateItem', kind: 'write' });
    addToTally(tally, { service: 'dynamodb', op: 'TransactWriteItems', kind: 'write', capacityUnits: 4 });
    addToTally(tally, { service: 'dynamodb', op: 'GetItem', kind: 'read', capacityUnits: 1 });
    expect(billedUnitsByOp(tally, DYNAMODB_WRITES)).toEqual({ PutItem: 2, UpdateItem: 4, TransactWriteItems: 4 });
    expect(billedUnitsByOp(tally, DYNAMODB_READS)).toEqual({ GetItem: 1 });
  });
});
