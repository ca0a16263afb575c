/**
 * `npm run demo`: on a running local stack (`npm start`), pays one order of each trade type through
 * the simulator, refunds part of one of them, and prints every step (the notifications WeChat sent
 * and what the stack answered included), so a newcomer sees the whole flow in one command. The JSAPI
 * order starts as a mini program's does: wx.login() gives a code, the backend turns it into the
 * payer's openid (POST /miniprogram/sessions), and the order names that openid.
 *
 * Every app-backend call goes through the signed client (shared/client), as an app backend calls the
 * API in AWS; the simulator's own paths (the payer's side) are plain HTTP.
 */
import * as z from 'zod';

import { HEALTH_ROUTE } from '#shared/app/routes';
import type { CreateOrderRequest } from '#shared/client/app-backend-client';
import { AppBackendClient } from '#shared/client/app-backend-client';
import { AppBackendError } from '#shared/client/app-backend-error';
import type { AwsCredentials } from '#shared/client/sigv4-transport';

const env = z
  .object({
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    LOCAL_IAM_ACCESS_KEY_ID: z.string().min(1).optional(),
    LOCAL_IAM_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  })
  .parse(process.env);

const gateway = `http://127.0.0.1:${env.PORT}`;

/**
 * When the gateway checks nothing, any key signs: this one stands in, so the demo runs without AWS
 * credentials on the machine and still makes the same signed calls as with LOCAL_IAM=1.
 */
const UNCHECKED_CREDENTIALS: AwsCredentials = { accessKeyId: 'LOCALDEMO', secretAccessKey: 'not-checked-locally' };

type Json = Record<string, unknown>;

/** The simulator's control API: what the payer and WeChat do (not the app backend's calls). */
async function simulatorCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${simulator}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

function show(label: string, value: unknown): void {
  console.log(`  ${label.padEnd(14)} ${JSON.stringify(value)}`);
}

/** Runs one API call; an AppBackendError is shown (status, code, message) and becomes undefined. */
async function attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof AppBackendError)) throw error;
    show(`error ${error.status}`, { code: error.code, message: error.message, field: error.field });
    return undefined;
  }
}

const sceneFor: Record<string, Partial<CreateOrderRequest>> = {
  APP: {},
  JSAPI: {},
  NATIVE: { product_id: 'demo-sku' },
  MWEB: {
    scene_info: {
      payer_client_ip: '127.0.0.1',
      h5_info: { type: 'Wap', app_name: 'demo shop', app_url: 'https://shop.example.com' },
    },
  },
};

const TRADE_TYPES = ['APP', 'JSAPI', 'NATIVE', 'MWEB'] as const;

/** The order the demo refunds part of: enough fen that part of it can go back. */
const REFUNDED_TRADE_TYPE = 'NATIVE';
const REFUNDED_TOTAL = 100;
const REFUNDED_PART = 30;

/** The event log's 10 s settling and some room. */
const EVENTS_WAIT_MS = 20_000;

function showNotifications(history: Json): void {
  const notifications = Array.isArray(history.notifications) ? (history.notifications as Json[]) : [];
  for (const n of notifications) {
    show('notification', { attempt: n.attempt, outcome: n.outcome, http_status: n.httpStatus, reply: n.reply });
  }
}

/**
 * The mini program's login: the simulator, as the phone's wx.login(), gives a code; our backend
 * exchanges it at WeChat (the simulator's sns/jscode2session) and answers the payer's openid, keeping
 * the session key to itself. The user data the mini program then sends is opened with that key.
 */
async function miniProgramLogin(client: AppBackendClient): Promise<string | undefined> {
  const login = await simulatorCall('POST', '/sandbox/miniprogram/login', {});
  show('wx.login()', login.json);
  if (login.status !== 201) return undefined;
  const session = await attempt(() => client.createMiniProgramSession(String(login.json.code)));
  if (session === undefined) return undefined;
  show('session', session);
  const { openid } = session;
  const sealed = await simulatorCall('POST', '/sandbox/miniprogram/user-data', {
    openid,
    data: { nickName: 'Demo', gender: 0, language: 'zh_CN' },
  });
  if (sealed.status !== 200) {
    show(`error ${sealed.status}`, sealed.json);
    return undefined;
  }
  show('user data', { encrypted_data: `${String(sealed.json.encrypted_data).slice(0, 24)}…`, iv: sealed.json.iv });
  const opened = await attempt(() =>
    client.decryptMiniProgramData({
      openid,
      encrypted_data: String(sealed.json.encrypted_data),
      iv: String(sealed.json.iv),
    }),
  );
  if (opened === undefined) return undefined;
  show('decrypted', opened);
  return openid;
}

async function payOne(client: AppBackendClient, tradeType: (typeof TRADE_TYPES)[number]): Promise<string | undefined> {
  console.log(`\n${tradeType}`);
  let payer: Partial<CreateOrderRequest> = {};
  if (tradeType === 'JSAPI') {
    const openid = await miniProgramLogin(client);
    if (openid === undefined) return undefined;
    payer = { payer: { openid } };
  }
  const request: CreateOrderRequest = {
    description: `demo ${tradeType} order`,
    amount: { total: tradeType === REFUNDED_TRADE_TYPE ? REFUNDED_TOTAL : 1 },
    trade_type: tradeType,
    scene_info: { payer_client_ip: '127.0.0.1' },
    ...payer,
    ...sceneFor[tradeType],
  };
  show('request', request);
  const created = await attempt(() => client.createOrder(request));
  if (created === undefined) return undefined;
  const no = created.out_trade_no;
  show('created', { out_trade_no: no, status: created.status, prepay_id: created.prepay_id });
  show('client params', created.client);

  const paid = await simulatorCall('POST', `/sandbox/orders/${encodeURIComponent(no)}/pay`, { result: 'SUCCESS' });
  show('payer paid', paid.json);

  let order = created;
  for (let i = 0; i < 50 && order.status !== 'PAID'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const latest = await attempt(() => client.getOrder(no));
    if (latest === undefined) return undefined;
    order = latest;
  }
  showNotifications((await simulatorCall('GET', `/sandbox/orders/${encodeURIComponent(no)}`)).json);
  show('final', { status: order.status, payment: order.payment });
  return order.status === 'PAID' ? no : undefined;
}

/**
 * Refunds part of a paid order: the API takes it (PROCESSING), the simulator is told to finish it now
 * (WeChat takes minutes to days), and its refund notification moves it to SUCCESS here.
 */
async function refundPart(client: AppBackendClient, outTradeNo: string): Promise<string | undefined> {
  console.log(`\nrefund ${REFUNDED_PART} of the ${REFUNDED_TOTAL} fen of ${outTradeNo}`);
  const outRefundNo = `DEMO${Date.now()}`;
  const request = { out_refund_no: outRefundNo, amount: { refund: REFUNDED_PART }, reason: 'demo partial refund' };
  show('request', request);
  const created = await attempt(() => client.createRefund(outTradeNo, request));
  if (created === undefined) return undefined;
  show('created', { status: created.status, amount: created.amount });

  const completed = await simulatorCall('POST', `/sandbox/refunds/${encodeURIComponent(outRefundNo)}/complete`, {
    result: 'SUCCESS',
  });
  show('WeChat done', completed.json);

  let refund = created;
  for (let i = 0; i < 50 && refund.status !== 'SUCCESS'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const latest = await attempt(() => client.getRefund(outTradeNo, outRefundNo));
    if (latest === undefined) return undefined;
    refund = latest;
  }
  showNotifications((await simulatorCall('GET', `/sandbox/refunds/${encodeURIComponent(outRefundNo)}`)).json);
  show('final', { status: refund.status, refund_id: refund.refund_id, success_time: refund.success_time });
  const order = await attempt(() => client.getOrder(outTradeNo));
  if (order !== undefined) show('order', { status: order.status, refund: order.refund });
  return refund.status === 'SUCCESS' ? outRefundNo : undefined;
}

/**
 * This run's events, as a backend without a public URL pulls them. The log lists an event once it is
 * 10 s old (so a cursor never skips one still being written), so the demo waits for the last one.
 */
async function showEvents(client: AppBackendClient, since: string | undefined, refunded: string): Promise<void> {
  console.log('\nevents (GET /events; listed once 10 s old)');
  const deadline = Date.now() + EVENTS_WAIT_MS;
  let after = since;
  let done = false;
  while (!done && Date.now() < deadline) {
    const page = await attempt(() => client.listEvents({ after, limit: 100 }));
    if (page === undefined) return;
    after = page.next;
    for (const event of page.events) {
      const data = event.data;
      const id = 'out_refund_no' in data ? data.out_refund_no : data.out_trade_no;
      show(event.type, id);
      if (event.type === 'refund.succeeded' && id === refunded) done = true;
    }
    if (!done && page.events.length < 100) await new Promise((r) => setTimeout(r, 1000));
  }
}

const health = await fetch(`${gateway}${HEALTH_ROUTE.path}`).catch(() => undefined);
if (health?.ok !== true) {
  console.error(`no local stack at ${gateway}: run \`npm start\` first (PORT=${env.PORT})`);
  process.exit(1);
}
// The stack says where its simulator is, which region it signs for and whether it checks signatures,
// so the demo follows SIMULATOR_PORT, AWS_REGION and LOCAL_IAM without being told.
const stackHealth = z
  .object({ simulator: z.url(), region: z.string().min(1), iamAuth: z.string().optional() })
  .parse(await health.json());
const { simulator, region } = stackHealth;
const iamChecked = stackHealth.iamAuth === 'checked';

const localIamKey =
  env.LOCAL_IAM_ACCESS_KEY_ID !== undefined && env.LOCAL_IAM_SECRET_ACCESS_KEY !== undefined
    ? { accessKeyId: env.LOCAL_IAM_ACCESS_KEY_ID, secretAccessKey: env.LOCAL_IAM_SECRET_ACCESS_KEY }
    : undefined;
// With LOCAL_IAM=1 the key the stack was started with signs, else the default AWS chain's (which the
// stack refuses unless it is that key); without it, a stand-in.
const credentials = localIamKey ?? (iamChecked ? undefined : UNCHECKED_CREDENTIALS);
console.log(
  `signing with SigV4 (execute-api, ${region}) as ${
    localIamKey !== undefined
      ? 'LOCAL_IAM_ACCESS_KEY_ID'
      : credentials === undefined
        ? 'the default AWS credentials'
        : 'a stand-in key'
  }; the gateway ${iamChecked ? 'checks' : 'does not check'} signatures`,
);
const client = new AppBackendClient({
  baseUrl: gateway,
  region,
  ...(credentials === undefined ? {} : { credentials }),
});

// Where the event log stands before the run: the end shows the events since (and any of the 10 s before).
let cursor: string | undefined;
for (;;) {
  const page = await attempt(() => client.listEvents({ after: cursor, limit: 100 }));
  if (page === undefined) break;
  cursor = page.next;
  if (page.events.length < 100) break;
}

const paid = new Map<string, string>();
for (const tradeType of TRADE_TYPES) {
  const no = await payOne(client, tradeType);
  if (no !== undefined) paid.set(tradeType, no);
}
const toRefund = paid.get(REFUNDED_TRADE_TYPE);
const refunded = toRefund === undefined ? undefined : await refundPart(client, toRefund);
if (refunded !== undefined) await showEvents(client, cursor, refunded);
console.log(paid.size === TRADE_TYPES.length ? '\nall four orders paid' : '\nsome orders did not reach PAID');
console.log(refunded !== undefined ? 'the partial refund reached SUCCESS' : 'the partial refund did not reach SUCCESS');
process.exit(paid.size === TRADE_TYPES.length && refunded !== undefined ? 0 : 1);
