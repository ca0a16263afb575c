/**
 * `npm run demo`: on a running local stack (`npm start`), pays one order of each trade type through
 * the simulator, refunds part of one of them, and prints every step (the notifications WeChat sent
 * and what the stack answered included), so a newcomer sees the whole flow in one command. The JSAPI
 * order starts as a mini program's does: wx.login() gives a code, the backend turns it into the
 * payer's openid (POST /miniprogram/sessions), and the order names that openid.
 */
import * as z from 'zod';

import { APP_BACKEND_ROUTES, HEALTH_ROUTE, type Route, routePath } from '#shared/app/routes';

const env = z.object({ PORT: z.coerce.number().int().min(1).max(65535).default(3000) }).parse(process.env);

const gateway = `http://127.0.0.1:${env.PORT}`;

type Json = Record<string, unknown>;

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

function callRoute(route: Route, parameters: Record<string, string>, body?: unknown) {
  return call(gateway, route.method, routePath(route, parameters), body);
}

function show(label: string, value: unknown): void {
  console.log(`  ${label.padEnd(14)} ${JSON.stringify(value)}`);
}

const sceneFor: Record<string, Json> = {
  APP: {},
  NATIVE: { product_id: 'demo-sku' },
  MWEB: {
    scene_info: {
      payer_client_ip: '127.0.0.1',
      h5_info: { type: 'Wap', app_name: 'demo shop', app_url: 'https://shop.example.com' },
    },
  },
};

/** The order the demo refunds part of: enough fen that part of it can go back. */
const REFUNDED_TRADE_TYPE = 'NATIVE';
const REFUNDED_TOTAL = 100;
const REFUNDED_PART = 30;

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
async function miniProgramLogin(): Promise<string | undefined> {
  const login = await call(simulator, 'POST', '/sandbox/miniprogram/login', {});
  show('wx.login()', login.json);
  if (login.status !== 201) return undefined;
  const session = await callRoute(APP_BACKEND_ROUTES.createMiniProgramSession, {}, { code: login.json.code });
  show(session.status === 201 ? 'session' : `error ${session.status}`, session.json);
  if (session.status !== 201) return undefined;
  const openid = String(session.json.openid);
  const sealed = await call(simulator, 'POST', '/sandbox/miniprogram/user-data', {
    openid,
    data: { nickName: 'Demo', gender: 0, language: 'zh_CN' },
  });
  if (sealed.status !== 200) {
    show(`error ${sealed.status}`, sealed.json);
    return undefined;
  }
  show('user data', { encrypted_data: `${String(sealed.json.encrypted_data).slice(0, 24)}…`, iv: sealed.json.iv });
  const opened = await callRoute(APP_BACKEND_ROUTES.decryptMiniProgramData, {}, { openid, ...sealed.json });
  show(opened.status === 200 ? 'decrypted' : `error ${opened.status}`, opened.json);
  return opened.status === 200 ? openid : undefined;
}

async function payOne(tradeType: string): Promise<string | undefined> {
  console.log(`\n${tradeType}`);
  let payer: Json = {};
  if (tradeType === 'JSAPI') {
    const openid = await miniProgramLogin();
    if (openid === undefined) return undefined;
    payer = { payer: { openid } };
  }
  const request = {
    description: `demo ${tradeType} order`,
    amount: { total: tradeType === REFUNDED_TRADE_TYPE ? REFUNDED_TOTAL : 1 },
    trade_type: tradeType,
    scene_info: { payer_client_ip: '127.0.0.1' },
    ...payer,
    ...sceneFor[tradeType],
  };
  show('request', request);
  const created = await callRoute(APP_BACKEND_ROUTES.createOrder, {}, request);
  if (created.status !== 201) {
    show(`error ${created.status}`, created.json);
    return undefined;
  }
  const no = String(created.json.out_trade_no);
  show('created', { out_trade_no: no, status: created.json.status, prepay_id: created.json.prepay_id });
  show('client params', created.json.client);

  const paid = await call(simulator, 'POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
  show('payer paid', paid.json);

  let order: Json = {};
  for (let i = 0; i < 50; i++) {
    order = (await callRoute(APP_BACKEND_ROUTES.getOrder, { out_trade_no: no })).json;
    if (order.status === 'PAID') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  showNotifications((await call(simulator, 'GET', `/sandbox/orders/${no}`)).json);
  show('final', { status: order.status, payment: order.payment });
  return order.status === 'PAID' ? no : undefined;
}

/**
 * Refunds part of a paid order: the API takes it (PROCESSING), the simulator is told to finish it now
 * (WeChat takes minutes to days), and its refund notification moves it to SUCCESS here.
 */
async function refundPart(outTradeNo: string): Promise<boolean> {
  console.log(`\nrefund ${REFUNDED_PART} of the ${REFUNDED_TOTAL} fen of ${outTradeNo}`);
  const outRefundNo = `DEMO${Date.now()}`;
  const request = { out_refund_no: outRefundNo, amount: { refund: REFUNDED_PART }, reason: 'demo partial refund' };
  show('request', request);
  const created = await callRoute(APP_BACKEND_ROUTES.createRefund, { out_trade_no: outTradeNo }, request);
  if (created.status !== 201) {
    show(`error ${created.status}`, created.json);
    return false;
  }
  show('created', { status: created.json.status, amount: created.json.amount });

  const completed = await call(simulator, 'POST', `/sandbox/refunds/${outRefundNo}/complete`, { result: 'SUCCESS' });
  show('WeChat done', completed.json);

  let refund: Json = {};
  for (let i = 0; i < 50; i++) {
    refund = (await callRoute(APP_BACKEND_ROUTES.getRefund, { out_trade_no: outTradeNo, out_refund_no: outRefundNo }))
      .json;
    if (refund.status === 'SUCCESS') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  showNotifications((await call(simulator, 'GET', `/sandbox/refunds/${outRefundNo}`)).json);
  show('final', { status: refund.status, refund_id: refund.refund_id, success_time: refund.success_time });
  const order = (await callRoute(APP_BACKEND_ROUTES.getOrder, { out_trade_no: outTradeNo })).json;
  show('order', { status: order.status, refund: order.refund });
  return refund.status === 'SUCCESS';
}

const health = await fetch(`${gateway}${HEALTH_ROUTE.path}`).catch(() => undefined);
if (health?.ok !== true) {
  console.error(`no local stack at ${gateway}: run \`npm start\` first (PORT=${env.PORT})`);
  process.exit(1);
}
// The stack says where its simulator is, so the demo follows SIMULATOR_PORT without being told.
const simulator = z.object({ simulator: z.url() }).parse(await health.json()).simulator;
const paid = new Map<string, string>();
for (const tradeType of ['APP', 'JSAPI', 'NATIVE', 'MWEB']) {
  const no = await payOne(tradeType);
  if (no !== undefined) paid.set(tradeType, no);
}
const toRefund = paid.get(REFUNDED_TRADE_TYPE);
const refunded = toRefund !== undefined && (await refundPart(toRefund));
console.log(paid.size === 4 ? '\nall four orders paid' : '\nsome orders did not reach PAID');
console.log(refunded ? 'the partial refund reached SUCCESS' : 'the partial refund did not reach SUCCESS');
process.exit(paid.size === 4 && refunded ? 0 : 1);
