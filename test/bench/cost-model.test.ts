import { describe, expect, it } from 'vitest';

import { emptyTally } from '#bench/counting-proxy';
import { modelHops, perOrderOf, usageOf, withHops } from '#bench/cost-per-payment';
import { costPerMillion, PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES, type UsagePerOrder } from '#bench/prices';
import { phaseCounts } from '#test/helpers/bench-phase-counts';

const none = { invocations: 0, billedMs: 0, meanMs: 0 };
const counts = phaseCounts;

describe('costPerMillion', () => {
  it('prices each service from the usage of one order', () => {
    const usage: UsagePerOrder = {
      functions: [{ name: 'notify', invocations: 1, billedMs: 100, memoryMb: 1024 }],
      apiGatewayRequests: 1,
      dynamodbReadUnits: 2,
      dynamodbWriteUnits: 4,
      sqsRequests: 3,
      logBytes: 0,
    };
    const cost = costPerMillion(usage);
    expect(cost.byService.lambdaRequests).toBeCloseTo(PRICES.lambdaPerMillionRequests);
    // 0.1 s at 1 GB is 0.1 GB-s per order, a hundred thousand GB-s per million.
    expect(cost.byService.lambdaCompute).toBeCloseTo(100_000 * PRICES.lambdaArmPerGbSecond);
    expect(cost.byService.apiGateway).toBeCloseTo(PRICES.httpApiPerMillionRequests);
    expect(cost.byService.dynamodb).toBeCloseTo(
      2 * PRICES.dynamodbPerMillionReadUnits + 4 * PRICES.dynamodbPerMillionWriteUnits,
    );
    expect(cost.byService.sqs).toBeCloseTo(3 * PRICES.sqsPerMillionRequests);
    expect(cost.total).toBeCloseTo(Object.values(cost.byService).reduce((a, b) => a + b, 0));
  });

  it('prices a gigabyte of logs per million orders at the ingestion price', () => {
    const usage: UsagePerOrder = {
      functions: [],
      apiGatewayRequests: 0,
      dynamodbReadUnits: 0,
      dynamodbWriteUnits: 0,
      sqsRequests: 0,
      logBytes: 1024 ** 3 / 1_000_000,
    };
    expect(costPerMillion(usage).total).toBeCloseTo(PRICES.logsPerGbIngested);
  });
});

describe('per order counts', () => {
  it('divides every count by the orders of the phase, leaving idle polls and set-up out of the SQS total', () => {
    const sqs = emptyTally();
    sqs.byKind = { send: 10, receive: 5, delete: 5, 'receive-empty': 7, control: 3 };
    const dynamodb = emptyTally();
    dynamodb.byKind = { read: 20, write: 40, control: 2 };
    dynamodb.byOp = { GetItem: 20, PutItem: 10, UpdateItem: 30, DescribeTable: 2 };
    dynamodb.capacityByKind = { read: 20, write: 50 };
    // Two writes answered without capacity (refused conditions): billed a unit each at least.
    dynamodb.reportedByKind = { read: 20, write: 38 };
    dynamodb.capacityByOp = { GetItem: 20, PutItem: 20, UpdateItem: 30 };
    dynamodb.reportedByOp = { GetItem: 20, PutItem: 10, UpdateItem: 28 };
    const wechat = emptyTally();
    wechat.byKind = { call: 10, control: 4 };
    wechat.byOp = { unifiedorder: 10, '/sandbox/orders/x/pay': 4 };
    const c = counts({
      lambda: {
        orders: { invocations: 10, billedMs: 500, meanMs: 50 },
        notify: { invocations: 10, billedMs: 300, meanMs: 30 },
        reconcile: { invocations: 5, billedMs: 50, meanMs: 10 },
        sweep: none,
        events: none,
        webhooks: none,
        bills: none,
      },
      dynamodb,
      sqs,
      wechat,
      handlerLogBytes: 1000,
    });
    const per = perOrderOf(c);
    expect(per).toMatchObject({
      lambdaInvocations: 2.5,
      lambdaByFunction: { orders: 1, notify: 1, reconcile: 0.5, sweep: 0 },
      dynamodbReads: 2,
      dynamodbWrites: 4,
      dynamodbReadUnits: 2,
      dynamodbWriteUnits: 5.2,
      // Where the units go: the two refused updates are UpdateItem's.
      dynamodbWriteUnitsByOp: { PutItem: 2, UpdateItem: 3.2 },
      dynamodbReadUnitsByOp: { GetItem: 2 },
      sqsRequests: 2,
      sqsEmptyReceives: 0.7,
      wechatCalls: 1,
      apiGatewayRequests: 1,
    });
    const usage = usageOf(c, per);
    expect(usage.functions.find((f) => f.name === 'orders')).toEqual({
      name: 'orders',
      invocations: 1,
      billedMs: 50,
      memoryMb: 512,
    });
    expect(usage.logBytes).toBeCloseTo(100 + 2.5 * PLATFORM_LOG_BYTES_PER_INVOCATION);
  });
});

describe('modelled early messages', () => {
  const sqs = emptyTally();
  // 40 reconcile messages in 10 invocations, received in 20 receives and deleted in 10 batches.
  sqs.byKind = { send: 40, receive: 20, delete: 10 };
  sqs.byOp = { SendMessage: 40, ReceiveMessage: 20, DeleteMessageBatch: 10 };
  sqs.msByOp = { SendMessage: 200, ReceiveMessage: 9000, DeleteMessageBatch: 50 };
  const phase = counts({
    lambda: {
      orders: { invocations: 10, billedMs: 1000, meanMs: 100 },
      notify: none,
      reconcile: { invocations: 10, billedMs: 2000, meanMs: 200, records: 40 },
      sweep: none,
      events: none,
      webhooks: none,
      bills: none,
    },
    sqs,
  });

  it('prices each hop with the phase’s own ratios: a send, its share of receives, deletes and invocations', () => {
    const hops = modelHops(phase, 4);
    expect(hops).toMatchObject({
      hopsPerOrder: 4,
      messagesPerInvocation: 4,
      receivesPerMessage: 0.5,
      deletesPerMessage: 0.25,
      sendMessageMs: 5,
      lambdaInvocations: 1,
      lambdaBilledMs: 20,
      sqsRequests: 4 * (1 + 0.5 + 0.25),
    });
    // No reads, no writes, no query: SQS and the reconcile function only.
    expect(hops.costPerMillion.byService.dynamodb).toBe(0);
    expect(hops.costPerMillion.byService.apiGateway).toBe(0);
    expect(hops.costPerMillion.byService.sqs).toBeCloseTo(7 * PRICES.sqsPerMillionRequests);
  });

  it('adds the hops to the measured usage, so the expired order is priced as production pays', () => {
    const measured = usageOf(phase, perOrderOf(phase));
    const hops = modelHops(phase, 4);
    const total = withHops(measured, hops);
    expect(total.functions.find((f) => f.name === 'reconcile')).toMatchObject({ invocations: 2, billedMs: 220 });
    expect(total.functions.find((f) => f.name === 'orders')).toEqual(
      measured.functions.find((f) => f.name === 'orders'),
    );
    expect(total.sqsRequests).toBeCloseTo(measured.sqsRequests + 7);
    expect(costPerMillion(total).total).toBeCloseTo(costPerMillion(measured).total + hops.costPerMillion.total, 6);
  });

  it('costs nothing when production needs no hops', () => {
    expect(modelHops(phase, 0).costPerMillion.total).toBe(0);
  });
});
