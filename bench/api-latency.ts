import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { APP_BACKEND_ROUTES, NOTIFY_ROUTE, routeKey, routePath } from '#shared/app/routes';
import { delivered, httpClient, type Posted, runPool, timeRequests } from './load';
import { type LocalServers, startBenchStack } from './local-servers';
import { type BenchTradeType, createOrderBody, outTradeNos, paidNotification, runPrefix } from './seed-orders';
import { type RequestSummary, summarizeRequests } from './stats';

/**
 * Part 5: what a merchant's backend waits for, over HTTP on the local stack: POST /orders (the
 * orders handler, DynamoDB Local and a prepay at the WeChat Pay simulator), GET /orders/{no} on
 * those orders, and WeChat's signed v2 paid notification for each of them to /notify/pay. One
 * request at a time, then a few at once, each run with orders of its own. The reconciler runs as
 * in service (on the default schedule, shared/config/settings.ts), so its checks may fall into a
 * later run's timing, as they would fall between a merchant's requests.
 */

export interface LatencyOptions {
  /** Timed requests per operation and concurrency. */
  requests: number;
  /** Untimed requests before each timed run, so first-call set-up and JIT warm-up are not counted. */
  warmup: number;
  concurrencies: number[];
  progress: (line: string) => void;
  log: (line: string) => void;
}

export type Operation = 'create' | 'get' | 'notify';

const { createOrder, getOrder } = APP_BACKEND_ROUTES;

const LABELS: Record<Operation, string> = {
  create: routeKey(createOrder),
  get: routeKey(getOrder),
  notify: `${routeKey(NOTIFY_ROUTE)} (v2 paid)`,
};

export interface OperationResult extends RequestSummary {
  operation: Operation;
  /** The request as the report names it. */
  label: string;
  failures: number;
}

export interface ConcurrencyResult {
  concurrency: number;
  /** In the order they ran. */
  operations: OperationResult[];
  /** Timed orders found PAID after their notifications: the notifications did their work. */
  paidAfterwards: number;
}

export interface LatencyResult {
  requests: number;
  warmup: number;
  tradeTypes: readonly BenchTradeType[];
  signedWith: 'MD5';
  runs: ConcurrencyResult[];
}

/** Alternated order by order, so both prepay paths (code_url and JSAPI pay sign) are in every run. */
export const TRADE_TYPES: readonly BenchTradeType[] = ['NATIVE', 'JSAPI'];

interface BenchOrder {
  outTradeNo: string;
  tradeType: BenchTradeType;
  notification: string;
}

/** `count` orders for one run; `firstIndex` keeps transaction ids distinct across runs. */
export function latencyOrders(prefix: string, count: number, firstIndex: number): BenchOrder[] {
  return outTradeNos(prefix, count).map((outTradeNo, i) => {
    const tradeType = TRADE_TYPES[i % TRADE_TYPES.length] as BenchTradeType;
    // Signed here, before any clock starts: the notifier's signing is WeChat's time, not ours.
    return {
      outTradeNo,
      tradeType,
      notification: paidNotification(SANDBOX_MERCHANT, outTradeNo, firstIndex + i, tradeType),
    };
  });
}

export async function runApiLatency(servers: LocalServers, options: LatencyOptions): Promise<LatencyResult> {
  const prefix = runPrefix('BL');
  const stack = await startBenchStack(servers, `bench-latency-${prefix.toLowerCase()}`, options.log);
  const http = httpClient(Math.max(...options.concurrencies));
  const answers: Record<
    Operation,
    { send: (order: BenchOrder) => Promise<Posted>; succeeded: (answer: Posted) => boolean }
  > = {
    create: {
      send: (o) =>
        http.send(
          `${stack.gatewayUrl}${routePath(createOrder)}`,
          createOrder.method,
          JSON.stringify(createOrderBody(o.outTradeNo, o.tradeType)),
          'application/json',
        ),
      succeeded: (a) => a.status === 201,
    },
    get: {
      send: (o) =>
        http.send(
          `${stack.gatewayUrl}${routePath(getOrder, { out_trade_no: o.outTradeNo })}`,
          getOrder.method,
          undefined,
          '',
        ),
      succeeded: (a) => a.status === 200,
    },
    notify: {
      send: (o) => http.send(stack.notifyUrl, NOTIFY_ROUTE.method, o.notification, 'text/xml'),
      succeeded: delivered,
    },
  };
  try {
    const runs: ConcurrencyResult[] = [];
    const perRun = options.warmup + options.requests;
    for (const [round, concurrency] of options.concurrencies.entries()) {
      const orders = latencyOrders(`${prefix}C${concurrency}`, perRun, round * perRun);
      const warm = orders.slice(0, options.warmup);
      const timed = orders.slice(options.warmup);
      const measure = async (op: Operation): Promise<OperationResult> => {
        options.progress(
          `part 5: ${LABELS[op]}, ${options.warmup} warm-up + ${options.requests} timed at concurrency ${concurrency}`,
        );
        const { send, succeeded } = answers[op];
        await timeRequests(warm, concurrency, send, succeeded);
        const run = await timeRequests(timed, concurrency, send, succeeded);
        return {
          operation: op,
          label: LABELS[op],
          ...summarizeRequests(run.latencies, run.seconds),
          failures: run.failures,
        };
      };
      // One after the other on purpose: each needs what the one before left (an order to read, a
      // PENDING order for the notification to pay).
      const operations = [await measure('create'), await measure('get'), await measure('notify')];
      let paidAfterwards = 0;
      await runPool(timed, 8, async (o) => {
        if ((await stack.store.get(o.outTradeNo))?.status === 'PAID') paidAfterwards += 1;
      });
      runs.push({ concurrency, operations, paidAfterwards });
    }
    return { requests: options.requests, warmup: options.warmup, tradeTypes: TRADE_TYPES, signedWith: 'MD5', runs };
  } finally {
    http.close();
    await stack.stop();
  }
}
