import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';

import { localDynamoDbClient } from '#sandbox/local/resources';
import { type LocalStack, startLocalStack } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { loginSessionKey } from '#shared/adapters/table-schema';
import { APP_BACKEND_ROUTES, routePath } from '#shared/app/routes';
import { classifyDynamoDb, classifyWechat, type Classified, withConsumedCapacity } from './aws-classify';
import { lambdaMeter, type PhaseCounts } from './cost-per-payment';
import { startCountedSimulator } from './counted-simulator';
import { type CountingProxy, startCountingProxy, startSqsCountingProxy } from './counting-proxy';
import { httpClient } from './load';
import { type LocalServers, runOnLocalServers } from './local-servers';
import { runPrefix } from './seed-orders';
import { percentile } from './stats';
import { runIfEntryPoint } from './script-entry';

/**
 * What one mini program login costs (issue 17): the simulator plays the phone (wx.login, the user's
 * encrypted profile) and WeChat's api.weixin.qq.com; each login is POST /miniprogram/sessions with the
 * code, then POST /miniprogram/decrypt with the data WeChat encrypted under that login's session_key.
 * Counted per login and per route: Lambda invocations (a wrapper around the handlers), DynamoDB data
 * requests by operation with the capacity DynamoDB Local reports (ReturnConsumedCapacity TOTAL, added
 * by the counting proxy), SQS requests, and WeChat calls (sns/jscode2session, through an HTTPS counting
 * proxy in front of the simulator, as the handlers reach WeChat over TLS). Latency of each route through
 * the local gateway, one request at a time after 5 untimed logins; it includes the loopback hops of
 * the counting proxies (DynamoDB, WeChat). Then the size of one stored session item, by DynamoDB's rules.
 *
 * `npx tsx bench/cost-per-login.ts [logins]` (default 50).
 */

const WARM_UP_LOGINS = 5;

type Route = 'sessions' | 'decrypt';
/** Which request the driver is in: what the proxies see meanwhile is that route's. */
type Phase = Route | 'between';

export interface Spread {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface OpCost {
  /** Requests per login. */
  requests: number;
  /** Capacity units per login, summed over the answers that reported them. */
  units: number;
  /** Answers that reported no capacity (a refused conditional write is billed all the same). */
  unreported: number;
  /** Reads per login asked with ConsistentRead (billed twice an eventually consistent one). */
  consistent: number;
}

export interface RouteCost {
  /** Lambda invocations per request, by function. */
  lambda: Record<string, number>;
  /** DynamoDB data requests per request, by operation. */
  dynamodb: Record<string, OpCost>;
  /** WeChat calls per request, by path. */
  wechat: Record<string, number>;
  latencyMs: Spread;
  /** Mean time inside the orders handler (ms, in process). */
  handlerMeanMs: number;
}

export interface LoginCostResult {
  logins: number;
  seconds: number;
  routes: Record<Route, RouteCost>;
  /** SQS requests per login that carried or took messages (the reconcile poller's empty polls apart). */
  sqsRequests: number;
  /** DynamoDB data requests while neither route was in flight (none expected). */
  dynamodbBetween: number;
  /** DynamoDB Streams requests of the local stream poller over the run (Lambda's own in AWS, not billed). */
  streamRequests: number;
  session: { bytes: number; attributes: string[]; putUnits: number | undefined } | undefined;
}

/**
 * An item's size as DynamoDB bills and limits it (the "Item sizes and formats" page of the DynamoDB
 * developer guide): each attribute's UTF-8 name plus its value; strings their UTF-8 bytes, binaries
 * their raw bytes, a number 1 byte per two significant digits plus 1, booleans and null 1, lists and
 * maps 3 bytes plus 1 per element plus the elements, sets the sum of their members.
 */
export function dynamoDbItemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name, 'utf8') + valueBytes(value);
  return bytes;
}

function numberBytes(n: string): number {
  const digits = n
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((s, x) => s + Buffer.byteLength(x, 'utf8'), 0);
  if (value.NS !== undefined) return value.NS.reduce((s, x) => s + numberBytes(x), 0);
  if (value.BS !== undefined) return value.BS.reduce((s, x) => s + x.length, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((s, x) => s + 1 + valueBytes(x), 0);
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((s, [k, x]) => s + 1 + Buffer.byteLength(k, 'utf8') + valueBytes(x), 0);
  throw new Error(`an attribute value of no known type: ${Object.keys(value).join(', ')}`);
}

function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  return {
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: percentile(samples, 100),
  };
}

interface PhaseTally {
  dynamodb: Record<string, OpCost>;
  wechat: Record<string, number>;
}

const emptyPhase = (): PhaseTally => ({ dynamodb: {}, wechat: {} });

/** WeChat's mini program API by path; WeChat Pay's as the other benches classify it. */
function classifyWechatApi(path: string): Classified {
  const clean = path.split('?')[0] ?? path;
  return clean === '/sns/jscode2session'
    ? { service: 'wechat', op: 'jscode2session', kind: 'call' }
    : classifyWechat(path);
}

export async function runCostPerLogin(
  servers: LocalServers,
  count: number,
  log: (line: string) => void,
): Promise<LoginCostResult> {
  const prefix = runPrefix('LG');
  let phase: Phase = 'between';
  let counting = false;
  const phases: Record<Phase, PhaseTally> = { sessions: emptyPhase(), decrypt: emptyPhase(), between: emptyPhase() };
  const wechat = await startCountedSimulator({
    classify: (e) => {
      const c = classifyWechatApi(e.path);
      if (counting) {
        const calls = phases[phase].wechat;
        calls[c.op] = (calls[c.op] ?? 0) + 1;
      }
      return c;
    },
  });
  const simulator = wechat.simulator;
  // The WeChat proxy is reset and closed with the others; the simulator after them.
  const proxies: CountingProxy[] = [wechat.proxy];
  const meter = lambdaMeter();
  const directDynamoDb = localDynamoDbClient(servers.dynamodbEndpoint);
  const http = httpClient(4);
  let streamRequests = 0;
  /** The capacity the last session put reported: the item measured below is that login's. */
  let lastSessionPutUnits: number | undefined;
  let stack: LocalStack | undefined;
  try {
    const dynamodbProxy = await startCountingProxy({
      upstream: servers.dynamodbEndpoint,
      classify: (e) => {
        const target = e.headers['x-amz-target'] as string | undefined;
        const c = classifyDynamoDb(target, e.responseBody);
        if (!counting) return c;
        if (target?.startsWith('DynamoDBStreams_')) streamRequests += 1;
        else if (c.kind === 'read' || c.kind === 'write') {
          const ops = phases[phase].dynamodb;
          const op = (ops[c.op] ??= { requests: 0, units: 0, unreported: 0, consistent: 0 });
          op.requests += 1;
          if (c.kind === 'read' && /"ConsistentRead"\s*:\s*true/.test(e.requestBody)) op.consistent += 1;
          if (c.capacityUnits === undefined) op.unreported += 1;
          else op.units += c.capacityUnits;
          if (phase === 'sessions' && c.kind === 'write' && e.requestBody.includes('MPSESSION#'))
            lastSessionPutUnits = c.capacityUnits;
        }
        return c;
      },
      rewriteBody: (headers, body) => withConsumedCapacity(headers['x-amz-target'] as string | undefined, body),
    });
    const sqsProxy = await startSqsCountingProxy(servers.sqsEndpoint);
    proxies.push(dynamodbProxy, sqsProxy);
    const name = `bench-login-${prefix.toLowerCase()}`;
    stack = await startLocalStack({
      dynamodbEndpoint: dynamodbProxy.url,
      sqsEndpoint: sqsProxy.url,
      wechatpayBaseUrl: wechat.proxy.url,
      wechatApiBaseUrl: wechat.proxy.url,
      miniProgram: { appSecret: simulator.miniProgramAppSecret },
      tableName: name,
      queueName: name,
      port: 0,
      merchant: SANDBOX_MERCHANT,
      sweepIntervalMs: 0,
      env: {
        LOG_LEVEL: 'WARN',
        ...wechat.handlerEnv,
      },
      createHandlers: (settings, overrides) => meter.wrap(settings, overrides),
      log: () => undefined,
    });
    const gateway = stack.gatewayUrl;
    const post = async (url: string, body: unknown, want: number): Promise<{ json: unknown; ms: number }> => {
      const answer = await http.send(url, 'POST', JSON.stringify(body), 'application/json');
      if (answer.status !== want)
        throw new Error(`POST ${new URL(url).pathname} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      return { json: JSON.parse(answer.text) as unknown, ms: answer.ms };
    };
    const invocations = () => meter.snapshot();
    const lambdaByRoute: Record<Route, Record<string, number>> = { sessions: {}, decrypt: {} };
    const handlerMs: Record<Route, number> = { sessions: 0, decrypt: 0 };
    const latencies: Record<Route, number[]> = { sessions: [], decrypt: [] };
    /** One route's request, its proxies' traffic and its invocations told apart by the phase. */
    const timed = async (route: Route, path: string, body: unknown, want: number): Promise<unknown> => {
      const before = invocations();
      phase = route;
      try {
        const { json, ms } = await post(`${gateway}${path}`, body, want);
        if (counting) latencies[route].push(ms);
        return json;
      } finally {
        phase = 'between';
        if (counting) {
          const after = invocations();
          for (const fn of Object.keys(after) as Array<keyof PhaseCounts['lambda']>) {
            const added = after[fn].invocations - before[fn].invocations;
            if (added === 0) continue;
            lambdaByRoute[route][fn] = (lambdaByRoute[route][fn] ?? 0) + added;
            if (fn === 'orders')
              handlerMs[route] += after[fn].meanMs * after[fn].invocations - before[fn].meanMs * before[fn].invocations;
          }
        }
      }
    };
    let lastOpenid: string | undefined;
    const login = async (): Promise<void> => {
      const { json: wx } = await post(`${simulator.url}/sandbox/miniprogram/login`, {}, 201);
      const { code, openid } = wx as { code: string; openid: string };
      const session = (await timed(
        'sessions',
        routePath(APP_BACKEND_ROUTES.createMiniProgramSession),
        { code },
        201,
      )) as {
        openid?: unknown;
      };
      if (session.openid !== openid) throw new Error(`POST /miniprogram/sessions named another openid than WeChat's`);
      const { json: sealed } = await post(`${simulator.url}/sandbox/miniprogram/user-data`, { openid }, 200);
      const { encrypted_data, iv } = sealed as { encrypted_data: string; iv: string };
      const opened = (await timed(
        'decrypt',
        routePath(APP_BACKEND_ROUTES.decryptMiniProgramData),
        { openid, encrypted_data, iv },
        200,
      )) as { openId?: unknown };
      if (opened.openId !== openid) throw new Error('POST /miniprogram/decrypt opened data of another user');
      lastOpenid = openid;
    };

    log(`login bench: ${WARM_UP_LOGINS} warm-up logins (not counted)`);
    for (let i = 0; i < WARM_UP_LOGINS; i += 1) await login();
    for (const p of proxies) p.reset();
    meter.reset();
    counting = true;
    log(`login bench: ${count} logins, one request at a time`);
    const started = performance.now();
    for (let i = 0; i < count; i += 1) await login();
    const seconds = (performance.now() - started) / 1000;
    counting = false;

    const per = (x: number) => x / count;
    const routeCost = (route: Route): RouteCost => ({
      lambda: Object.fromEntries(Object.entries(lambdaByRoute[route]).map(([fn, n]) => [fn, per(n)])),
      dynamodb: Object.fromEntries(
        Object.entries(phases[route].dynamodb).map(([op, c]) => [
          op,
          {
            requests: per(c.requests),
            units: per(c.units),
            unreported: per(c.unreported),
            consistent: per(c.consistent),
          },
        ]),
      ),
      wechat: Object.fromEntries(Object.entries(phases[route].wechat).map(([op, n]) => [op, per(n)])),
      latencyMs: spread(latencies[route]),
      handlerMeanMs: handlerMs[route] / Math.max(latencies[route].length, 1),
    });
    const sqs = sqsProxy.tally().byKind;
    const between = Object.values(phases.between.dynamodb).reduce((s, c) => s + c.requests, 0);

    let session: LoginCostResult['session'];
    if (lastOpenid !== undefined) {
      const key = loginSessionKey(lastOpenid);
      const { Item } = await directDynamoDb.send(
        new GetItemCommand({
          TableName: stack.tableName,
          Key: Object.fromEntries(Object.entries(key).map(([k, v]) => [k, { S: v }])),
          ConsistentRead: true,
        }),
      );
      if (Item !== undefined)
        session = {
          bytes: dynamoDbItemBytes(Item),
          attributes: Object.keys(Item).sort(),
          putUnits: lastSessionPutUnits,
        };
    }
    return {
      logins: count,
      seconds,
      routes: { sessions: routeCost('sessions'), decrypt: routeCost('decrypt') },
      sqsRequests: per((sqs.send ?? 0) + (sqs.receive ?? 0) + (sqs.delete ?? 0)),
      dynamodbBetween: between,
      streamRequests,
      session,
    };
  } finally {
    http.close();
    await stack?.stop().catch((error: unknown) => log(`stack stop: ${(error as Error).message}`));
    for (const p of proxies) await p.close();
    await simulator.close();
    directDynamoDb.destroy();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

export function renderLoginCost(r: LoginCostResult): string {
  const routes: Array<[Route, string]> = [
    ['sessions', routePath(APP_BACKEND_ROUTES.createMiniProgramSession)],
    ['decrypt', routePath(APP_BACKEND_ROUTES.decryptMiniProgramData)],
  ];
  const list = (entries: Record<string, number>) =>
    Object.keys(entries).length === 0
      ? 'none'
      : Object.entries(entries)
          .map(([k, n]) => `${k} ${round(n)}`)
          .join(', ');
  const units = (c: OpCost, unit: string) =>
    `${round(c.units)} ${unit}` +
    (c.consistent > 0 ? `, ${round(c.consistent)} consistent` : '') +
    (c.unreported > 0 ? ` (+${round(c.unreported)} answers without capacity)` : '');
  const isWrite = (op: string) => !['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems'].includes(op);
  const lines = [
    `${r.logins} logins in ${round(r.seconds)} s (one request at a time, after ${WARM_UP_LOGINS} warm-up logins)`,
  ];
  const all = Object.values(r.routes);
  const allOps = all.flatMap((route) => Object.entries(route.dynamodb));
  const writes = allOps.filter(([op]) => isWrite(op)).map(([, c]) => c);
  const reads = allOps.filter(([op]) => !isWrite(op)).map(([, c]) => c);
  const total = (costs: OpCost[], unit: string) =>
    `${round(sum(costs.map((c) => c.requests)))} requests, ${round(sum(costs.map((c) => c.units)))} ${unit}`;
  lines.push(
    '',
    'per login (both routes):',
    `  Lambda invocations  ${round(sum(all.flatMap((route) => Object.values(route.lambda))))}`,
    `  DynamoDB writes     ${total(writes, 'WCU')}`,
    `  DynamoDB reads      ${total(reads, 'RCU')}`,
    `  WeChat API calls    ${round(sum(all.flatMap((route) => Object.values(route.wechat))))}`,
    `  SQS requests        ${round(r.sqsRequests)}`,
  );
  for (const [route, path] of routes) {
    const c = r.routes[route];
    const l = c.latencyMs;
    lines.push(
      '',
      `POST ${path}, per request:`,
      `  Lambda invocations  ${list(c.lambda)}`,
      ...(Object.keys(c.dynamodb).length === 0
        ? ['  DynamoDB            none']
        : Object.entries(c.dynamodb).map(
            ([op, o]) =>
              `  DynamoDB ${op.padEnd(10)} ${round(o.requests)} requests, ${units(o, isWrite(op) ? 'WCU' : 'RCU')}`,
          )),
      `  WeChat API calls    ${list(c.wechat)}`,
      `  latency ms          p50 ${round(l.p50)}, p95 ${round(l.p95)}, p99 ${round(l.p99)}, max ${round(l.max)}`,
      `  in the handler      mean ${round(c.handlerMeanMs)} ms`,
    );
  }
  lines.push('');
  if (r.session === undefined) lines.push('stored session item: not found');
  else
    lines.push(
      `stored session item: ${r.session.bytes} bytes (DynamoDB's item size rules), ` +
        `its put ${r.session.putUnits === undefined ? 'reported no capacity' : `${r.session.putUnits} WCU`}`,
      `  attributes: ${r.session.attributes.join(', ')}`,
    );
  lines.push(
    `DynamoDB data requests outside both routes: ${r.dynamodbBetween}; ` +
      `stream poller requests (local only, not billed): ${r.streamRequests}`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 50);
  if (!Number.isInteger(count) || count < 1) throw new Error('usage: cost-per-login.ts [logins]');
  await runOnLocalServers(async (servers, progress) =>
    renderLoginCost(await runCostPerLogin(servers, count, progress)),
  );
}

runIfEntryPoint(import.meta.url, main);
