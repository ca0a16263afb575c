import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLambdaContext } from '#sandbox/local/lambda-context';
import { SqsCheckScheduler } from '#shared/adapters/sqs-check-scheduler';
import { createHandlers, type Handlers } from '#shared/app/handlers';
import { RECORDING_MARGIN_MS } from '#shared/app/invocation-deadline';
import { OUT_OF_TIME_RETRY_SECONDS } from '#shared/domain/reconciler';
import { startTestStack, type TestStack } from '../helpers/local-stack';

/**
 * The reconcile handler against a slow WeChat (the simulator's "timeout" fault holds a reply 6 s),
 * invoked with a context that has little time left: it must answer before its end with a decision for
 * every record, and the healthy checks of the batch must succeed.
 */
let stack: TestStack;
let handlers: Handlers;
let seq = 0;

async function openOrderDueNow(): Promise<string> {
  seq += 1;
  const no = `DL${Date.now()}${String(seq).padStart(3, '0')}`;
  const res = await stack.api('POST', '/orders', {
    out_trade_no: no,
    description: 'deadline test',
    amount: { total: 501 },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.2' },
  });
  expect(res.status).toBe(201);
  // Due now: the order's watch bound is the check this test hands the handler (moved there as a check
  // that completes moves it, so no put-back is counted and the first retry waits the first interval).
  const bound = (await stack.store.get(no))?.nextCheckAt ?? '';
  expect(await stack.store.extendWatch(no, bound, new Date().toISOString())).toEqual({ kind: 'extended' });
  return no;
}

async function batchOf(nos: string[]): Promise<SQSEvent> {
  const records = await Promise.all(
    nos.map(async (no, i) => {
      const order = await stack.store.get(no);
      return {
        messageId: `m-${no}-${i}`,
        receiptHandle: `r-${no}`,
        body: JSON.stringify({ outTradeNo: no, attempt: 0, dueAt: order?.nextCheckAt, bound: order?.nextCheckAt }),
        attributes: {},
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:reconcile',
        awsRegion: 'us-east-1',
      };
    }),
  );
  return { Records: records } as unknown as SQSEvent;
}

async function invokeWith(timeoutMs: number, event: SQSEvent) {
  const context = createLambdaContext({ functionName: 'reconcile-deadline-test', timeoutMs, region: 'us-east-1' });
  const started = Date.now();
  const result = await handlers.reconcile(event, context);
  return { result, tookMs: Date.now() - started, started };
}

describe.each(['v2', 'v3'] as const)('reconcile under a deadline (%s)', (apiVersion) => {
  beforeAll(async () => {
    stack = await startTestStack({ env: { WECHATPAY_API_VERSION: apiVersion, RECONCILE_SCHEDULE: '3600' } });
    const scheduler = new SqsCheckScheduler({ queueUrl: stack.queueUrl, client: stack.sqs });
    handlers = createHandlers(stack.settings, { store: stack.store, scheduler });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers before its end: the slow check re-scheduled soon and acknowledged, the healthy ones done', async () => {
    const [slow, healthyA, healthyB] = [await openOrderDueNow(), await openOrderDueNow(), await openOrderDueNow()];
    await stack.simulator('POST', '/sandbox/faults', { api: 'timeout', out_trade_no: slow });

    const timeoutMs = 6_000;
    const { result, tookMs, started } = await invokeWith(timeoutMs, await batchOf([slow, healthyA, healthyB]));

    expect(tookMs).toBeLessThan(timeoutMs - 1_000);
    expect(result.batchItemFailures).toEqual([]);
    // The healthy checks asked WeChat (NOTPAY), scheduled their next check an interval on, and moved
    // the watch bound on past it (the put-back bound was now).
    for (const no of [healthyA, healthyB]) {
      expect(Date.parse((await stack.store.get(no))?.nextCheckAt ?? '')).toBeGreaterThan(started + 600_000);
    }
    // The slow one ran out of the WeChat calls' time (the end less the recording margin), and is due again soon.
    const again = Date.parse((await stack.store.get(slow))?.nextCheckAt ?? '');
    expect(again).toBeGreaterThanOrEqual(
      started + timeoutMs - RECORDING_MARGIN_MS + OUT_OF_TIME_RETRY_SECONDS * 1000 - 500,
    );
    expect(again).toBeLessThan(started + timeoutMs + OUT_OF_TIME_RETRY_SECONDS * 1000);
    expect((await stack.store.get(slow))?.status).toBe('PENDING');
    await stack.simulator('DELETE', '/sandbox/faults');
  }, 20_000);

  it('with too little time for any WeChat call, every check is re-scheduled and acknowledged at once', async () => {
    const nos = [await openOrderDueNow(), await openOrderDueNow()];
    const { result, tookMs, started } = await invokeWith(2_000, await batchOf(nos));
    expect(tookMs).toBeLessThan(1_500);
    expect(result.batchItemFailures).toEqual([]);
    for (const no of nos) {
      const next = Date.parse((await stack.store.get(no))?.nextCheckAt ?? '');
      expect(next).toBeGreaterThanOrEqual(started + OUT_OF_TIME_RETRY_SECONDS * 1000 - 1000);
      expect(next).toBeLessThan(started + (OUT_OF_TIME_RETRY_SECONDS + 2) * 1000);
    }
  }, 20_000);
});
