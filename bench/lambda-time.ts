import { monitorEventLoopDelay } from 'node:perf_hooks';

import { startLocalStack } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { startSimulator } from '#sandbox/simulator/server';
import { APP_BACKEND_ROUTES, routeKey, routePath } from '#shared/app/routes';
import { classifyWechat } from './aws-classify';
import { lambdaMeter } from './cost-per-payment';
import {
  type CountingProxy,
  startCountingProxy,
  startDynamoDbCountingProxy,
  startSqsCountingProxy,
  type Tally,
} from './counting-proxy';
import { httpClient, runPool } from './load';
import { type LocalServers, runOnLocalServers } from './local-servers';
import { runIfEntryPoint } from './script-entry';
import { createOrderBody, outTradeNos, runPrefix } from './seed-orders';
import { median } from './stats';

/**
 * Where an order create's measured Lambda time goes when everything (gateway, handlers, simulator,
 * proxies, load) shares this one process and a 2-core machine with DynamoDB Local: rounds of creates
 * one at a time and several at once, alternating so the machine's drift falls on both, each split
 * into the requests the handler awaited (timed at the counting proxies: the server's answer, the
 * simulator's included) and the rest (the handler's own work, its SDK's, and its waits for this
 * process's event loop). No check runs during a round (the first is an hour away).
 *
 * `npx tsx bench/lambda-time.ts [orders per round] [--json]` (default 40).
 */

/** The requests one create awaits, one after the other (shared/domain/create-payment.ts). */
export const CREATE_OPS = ['PutItem', 'unifiedorder', 'UpdateItem', 'SendMessage'] as const;

export interface CreateRound {
  concurrency: number;
  orders: number;
  /** The orders handler's mean duration per invocation, as part 4 bills it (ms). */
  handlerMeanMs: number;
  /** Per create: ms awaited on each request, timed at its proxy; and their sum. */
  awaitedMsByOp: Record<string, number>;
  awaitedMs: number;
  /** handlerMeanMs − awaitedMs: the handler's own work, its SDK's, and its waits for the event loop. */
  restMs: number;
  /** This process's CPU time per create (everything in it: gateway, handler, simulator, proxies, load). */
  processCpuMsPerCreate: number;
  eventLoopDelayMs: { p50: number; p99: number };
}

/** Splits a round's measurements per create. */
export function splitRound(
  concurrency: number,
  orders: number,
  handlerMeanMs: number,
  tallies: readonly Tally[],
  cpuMicros: number,
  loopDelayMs: { p50: number; p99: number },
): CreateRound {
  const awaitedMsByOp: Record<string, number> = {};
  for (const op of CREATE_OPS) {
    const tally = tallies.find((t) => (t.byOp[op] ?? 0) > 0);
    awaitedMsByOp[op] = tally ? (tally.msByOp[op] ?? 0) / Math.max(orders, 1) : 0;
  }
  const awaitedMs = Object.values(awaitedMsByOp).reduce((s, x) => s + x, 0);
  return {
    concurrency,
    orders,
    handlerMeanMs,
    awaitedMsByOp,
    awaitedMs,
    restMs: handlerMeanMs - awaitedMs,
    processCpuMsPerCreate: cpuMicros / 1000 / Math.max(orders, 1),
    eventLoopDelayMs: loopDelayMs,
  };
}

export async function runLambdaTime(
  servers: LocalServers,
  options: { orders: number; concurrencies: readonly number[]; progress: (line: string) => void },
): Promise<CreateRound[]> {
  const prefix = runPrefix('LT');
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, merchant: SANDBOX_MERCHANT, log: () => {} });
  const meter = lambdaMeter();
  const http = httpClient(Math.max(...options.concurrencies));
  const proxies: CountingProxy[] = [];
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    const dynamodb = await startDynamoDbCountingProxy(servers.dynamodbEndpoint);
    const sqs = await startSqsCountingProxy(servers.sqsEndpoint);
    const wechat = await startCountingProxy({ upstream: simulator.url, classify: (e) => classifyWechat(e.path) });
    proxies.push(dynamodb, sqs, wechat);
    const name = `bench-lambda-time-${prefix.toLowerCase()}`;
    stack = await startLocalStack({
      dynamodbEndpoint: dynamodb.url,
      sqsEndpoint: sqs.url,
      wechatpayBaseUrl: wechat.url,
      tableName: name,
      queueName: name,
      port: 0,
      merchant: SANDBOX_MERCHANT,
      sweepIntervalMs: 0,
      env: { RECONCILE_SCHEDULE: '3600' },
      createHandlers: (settings, overrides) => meter.wrap(settings, overrides),
      log: () => {},
    });
    const url = `${stack.gatewayUrl}${routePath(APP_BACKEND_ROUTES.createOrder)}`;
    const create = async (no: string) => {
      const answer = await http.send(url, 'POST', JSON.stringify(createOrderBody(no)), 'application/json');
      if (answer.status !== 201)
        throw new Error(
          `${routeKey(APP_BACKEND_ROUTES.createOrder)} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
    };
    // Warm: the first creates load modules and open sockets.
    await runPool(outTradeNos(`${prefix}W`, 10), 1, create);
    const rounds: CreateRound[] = [];
    for (const [i, concurrency] of options.concurrencies.entries()) {
      const nos = outTradeNos(`${prefix}R${i}`, options.orders);
      while (meter.inFlight() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      meter.reset();
      for (const p of proxies) p.reset();
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const cpu = process.cpuUsage();
      await runPool(nos, concurrency, create);
      const used = process.cpuUsage(cpu);
      loop.disable();
      const round = splitRound(
        concurrency,
        options.orders,
        meter.snapshot().orders.meanMs,
        proxies.map((p) => p.tally()),
        used.user + used.system,
        { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6 },
      );
      options.progress(
        `lambda time: ${options.orders} creates, ${concurrency} at once: ` +
          `handler ${round.handlerMeanMs.toFixed(0)} ms, awaited ${round.awaitedMs.toFixed(0)} ms, ` +
          `rest ${round.restMs.toFixed(0)} ms`,
      );
      rounds.push(round);
    }
    return rounds;
  } finally {
    http.close();
    await stack?.stop().catch(() => undefined);
    for (const p of proxies) await p.close();
    await simulator.close();
  }
}

/** The medians over the rounds of each concurrency. */
export function summarizeRounds(rounds: readonly CreateRound[]): Array<Record<string, number>> {
  const concurrencies = [...new Set(rounds.map((r) => r.concurrency))];
  return concurrencies.map((concurrency) => {
    const of = rounds.filter((r) => r.concurrency === concurrency);
    const m = (f: (r: CreateRound) => number) => Math.round(median(of.map(f)) * 10) / 10;
    return {
      concurrency,
      rounds: of.length,
      handler_mean_ms: m((r) => r.handlerMeanMs),
      awaited_ms: m((r) => r.awaitedMs),
      ...Object.fromEntries(CREATE_OPS.map((op) => [`awaited_${op}_ms`, m((r) => r.awaitedMsByOp[op] ?? 0)])),
      rest_ms: m((r) => r.restMs),
      process_cpu_ms_per_create: m((r) => r.processCpuMsPerCreate),
      event_loop_delay_p50_ms: m((r) => r.eventLoopDelayMs.p50),
      event_loop_delay_p99_ms: m((r) => r.eventLoopDelayMs.p99),
    };
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const orders = Number(args.find((a) => !a.startsWith('--')) ?? 40);
  if (!Number.isInteger(orders) || orders < 1) throw new Error('usage: lambda-time.ts [orders per round] [--json]');
  await runOnLocalServers(async (servers, progress) => {
    const rounds = await runLambdaTime(servers, { orders, concurrencies: [1, 4, 1, 4, 1, 4], progress });
    const summary = summarizeRounds(rounds);
    return json ? JSON.stringify({ summary, rounds }) : summary.map((s) => JSON.stringify(s)).join('\n');
  });
}

runIfEntryPoint(import.meta.url, main);
