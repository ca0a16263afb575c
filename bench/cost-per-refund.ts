import { pathToFileURL } from 'node:url';

import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { localDynamoDbClient, localSqsClient } from '#sandbox/local/resources';
import { startLocalStack } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { APP_BACKEND_ROUTES, routePath } from '#shared/app/routes';
import type { RefundStatus } from '#shared/domain/refund';
import { classifyWechat } from './aws-classify';
import { startCountedSimulator } from './counted-simulator';
import { lambdaMeter, type PhaseResult, perOrderOf, queueIsEmpty, usageOf } from './cost-per-payment';
import { type CountingProxy, startDynamoDbCountingProxy, startSqsCountingProxy } from './counting-proxy';
import { httpClient, runPool } from './load';
import { type LocalServers, startLocalServers } from './local-servers';
import { costPerMillion } from './prices';
import { createOrderBody, outTradeNos, runPrefix, SEED_AMOUNT_FEN } from './seed-orders';

/**
 * What one refund costs: paid orders (not counted) each get a partial refund through the local stack
 * (API v2, so the refund goes over mutual TLS to the simulator's /secapi/), and every Lambda invocation,
 * DynamoDB request (with its consumed capacity), SQS request and WeChat Pay call is counted until the
 * refund is SUCCESS and the queue has drained. Two scenarios:
 * - notified: WeChat's refund notification arrives before the first check (the usual case);
 * - dropped: the notification never comes, so the reconciler's check finds the result by query.
 *
 * Bench part 7 (`npm run bench -- --parts=refund`) runs it and prices each scenario per million refunds;
 * `npx tsx bench/cost-per-refund.ts [refunds per scenario]` (default 50) runs it alone.
 */

/** The simulator finishes a refund after 60 s of its time: 2 s here. */
const TIME_SCALE = 30;
/** Checks come 5 s after the refund (60 s in production): after the 2 s the notification takes here. */
const RUN_ENV = { RECONCILE_SCHEDULE: '1,1,1', REFUND_CHECK_SCHEDULE: '5,5,5' } as const;
const REFUND_FEN = SEED_AMOUNT_FEN / 2;

export interface RefundScenario {
  name: string;
  refunds: number;
  completed: number;
  seconds: number;
  perRefund: PhaseResult['perOrder'];
  /** The counts, usage and price per refund (per million refunds), as part 4 gives them per order. */
  phase: PhaseResult;
}

export interface RefundOptions {
  /** Refunds at once (each scenario's orders are created and paid 8 at once, not counted). */
  concurrency?: number;
  /** Bytes the handlers have logged so far (the bench's output guard counts them); none counted without. */
  loggedBytes?: () => number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runCostPerRefund(
  servers: LocalServers,
  count: number,
  log: (line: string) => void,
  options: RefundOptions = {},
): Promise<RefundScenario[]> {
  const loggedBytes = options.loggedBytes ?? (() => 0);
  const concurrency = options.concurrency ?? 8;
  const prefix = runPrefix('RF');
  const wechat = await startCountedSimulator({ classify: (e) => classifyWechat(e.path), timeScale: TIME_SCALE });
  const simulator = wechat.simulator;
  // The WeChat proxy is reset and closed with the others; the simulator after them.
  const proxies: CountingProxy[] = [wechat.proxy];
  const meter = lambdaMeter();
  const directDynamoDb = localDynamoDbClient(servers.dynamodbEndpoint);
  const directSqs = localSqsClient(servers.sqsEndpoint);
  const http = httpClient(16);
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    const dynamodbProxy = await startDynamoDbCountingProxy(servers.dynamodbEndpoint);
    const sqsProxy = await startSqsCountingProxy(servers.sqsEndpoint);
    proxies.push(dynamodbProxy, sqsProxy);
    const name = `bench-refund-${prefix.toLowerCase()}`;
    stack = await startLocalStack({
      dynamodbEndpoint: dynamodbProxy.url,
      sqsEndpoint: sqsProxy.url,
      wechatpayBaseUrl: wechat.proxy.url,
      tableName: name,
      queueName: name,
      port: 0,
      merchant: SANDBOX_MERCHANT,
      sweepIntervalMs: 0,
      env: {
        ...RUN_ENV,
        ...wechat.handlerEnv,
      },
      createHandlers: (settings, overrides) => meter.wrap(settings, overrides),
      log: () => undefined,
    });
    const running = stack;
    const refunds = new DynamoDbRefundStore({
      tableName: running.tableName,
      client: DynamoDBDocumentClient.from(directDynamoDb, { marshallOptions: { removeUndefinedValues: true } }),
    });
    const post = async (url: string, body: unknown, want: number): Promise<void> => {
      const answer = await http.send(url, 'POST', JSON.stringify(body), 'application/json');
      if (answer.status !== want)
        throw new Error(`POST ${url} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    };
    const quiet = async (done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> => {
      const deadline = Date.now() + timeoutMs;
      let quietSince: number | undefined;
      for (;;) {
        const idle = (await done()) && meter.inFlight() === 0 && (await queueIsEmpty(directSqs, running.queueUrl));
        if (idle) {
          quietSince ??= Date.now();
          if (Date.now() - quietSince >= 1500) return true;
        } else quietSince = undefined;
        if (Date.now() > deadline) return false;
        await sleep(500);
      }
    };

    const scenario = async (label: string, dropNotifications: boolean): Promise<RefundScenario> => {
      const nos = outTradeNos(`${prefix}${label.slice(0, 1).toUpperCase()}`, count);
      log(`refund bench: ${label}: creating and paying ${count} orders (not counted)`);
      await runPool(nos, 8, async (no) => {
        await post(`${running.gatewayUrl}${routePath(APP_BACKEND_ROUTES.createOrder)}`, createOrderBody(no), 201);
        await post(`${simulator.url}/sandbox/orders/${no}/pay`, { result: 'SUCCESS' }, 200);
      });
      await quiet(async () => true, 60_000);
      await post(`${simulator.url}/sandbox/faults`, { notify: dropNotifications ? 'drop' : 'deliver' }, 200);
      meter.reset();
      for (const p of proxies) p.reset();
      const logBytesBefore = loggedBytes();
      const started = performance.now();
      log(`refund bench: ${label}: refunding ${REFUND_FEN} of ${SEED_AMOUNT_FEN} fen on each`);
      await runPool(nos, concurrency, async (no) => {
        const url = `${running.gatewayUrl}${routePath(APP_BACKEND_ROUTES.createRefund, { out_trade_no: no })}`;
        await post(url, { out_refund_no: `R${no}`, amount: { refund: REFUND_FEN } }, 201);
      });
      let completed = 0;
      const want: RefundStatus = 'SUCCESS';
      const settled = await quiet(async () => {
        completed = 0;
        await runPool(nos, 16, async (no) => {
          if ((await refunds.getRefund(no, `R${no}`))?.status === want) completed += 1;
        });
        return completed === count;
      }, 120_000);
      if (!settled) log(`refund bench: ${label}: gave up waiting: ${completed}/${count} ${want}`);
      await post(`${simulator.url}/sandbox/faults`, { notify: 'deliver' }, 200);
      const counts = {
        orders: count,
        completed,
        seconds: (performance.now() - started) / 1000,
        lambda: meter.snapshot(),
        dynamodb: dynamodbProxy.tally(),
        sqs: sqsProxy.tally(),
        wechat: wechat.proxy.tally(),
        handlerLogBytes: loggedBytes() - logBytesBefore,
        createConcurrency: concurrency,
      };
      const perRefund = perOrderOf(counts);
      const usage = usageOf(counts, perRefund);
      const phase = { counts, perOrder: perRefund, usage, costPerMillion: costPerMillion(usage) };
      return { name: label, refunds: count, completed, seconds: counts.seconds, perRefund, phase };
    };

    return [await scenario('notified', false), await scenario('dropped', true)];
  } finally {
    http.close();
    await stack?.stop().catch((error: unknown) => log(`stack stop: ${(error as Error).message}`));
    for (const p of proxies) await p.close();
    await simulator.close();
    directDynamoDb.destroy();
    directSqs.destroy();
  }
}

function printScenario(s: RefundScenario): void {
  const p = s.perRefund;
  const round = (x: number) => Math.round(x * 100) / 100;
  const byOp = (ops: Record<string, number>) =>
    Object.entries(ops)
      .map(([op, n]) => `${op} ${round(n)}`)
      .join(', ');
  console.log(`\n${s.name}: ${s.completed}/${s.refunds} refunds SUCCESS in ${round(s.seconds)} s; per refund:`);
  console.log(`  Lambda invocations  ${round(p.lambdaInvocations)} (${byOp(p.lambdaByFunction)})`);
  console.log(`  DynamoDB writes     ${round(p.dynamodbWrites)} requests, ${round(p.dynamodbWriteUnits)} WCU`);
  console.log(`  DynamoDB reads      ${round(p.dynamodbReads)} requests, ${round(p.dynamodbReadUnits)} RCU`);
  console.log(`  SQS requests        ${round(p.sqsRequests)}`);
  console.log(`  WeChat Pay calls    ${round(p.wechatCalls)} (${byOp(p.wechatByOp)})`);
  console.log(`  cost per million    $${round(s.phase.costPerMillion.total)} (handlers' own log lines not counted)`);
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 50);
  if (!Number.isInteger(count) || count < 1) throw new Error('usage: cost-per-refund.ts [refunds per scenario]');
  const servers = await startLocalServers();
  try {
    const scenarios = await runCostPerRefund(servers, count, (line) => console.error(line));
    for (const s of scenarios) printScenario(s);
  } finally {
    await servers.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
