/**
 * `npm run demo`: on a running local stack (`npm start`), pays one order of each trade type through
 * the simulator and prints every step, so a newcomer sees the whole flow in one command.
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
  JSAPI: { payer: { openid: 'oDemoPayer0000000000000001' } },
  NATIVE: { product_id: 'demo-sku' },
  MWEB: {
    scene_info: {
      payer_client_ip: '127.0.0.1',
      h5_info: { type: 'Wap', app_name: 'demo shop', app_url: 'https://shop.example.com' },
    },
  },
};

async function payOne(tradeType: string): Promise<boolean> {
  console.log(`\n${tradeType}`);
  const request = {
    description: `demo ${tradeType} order`,
    amount: { total: 1 },
    trade_type: tradeType,
    scene_info: { payer_client_ip: '127.0.0.1' },
    ...sceneFor[tradeType],
  };
  show('request', request);
  const created = await callRoute(APP_BACKEND_ROUTES.createOrder, {}, request);
  if (created.status !== 201) {
    show(`error ${created.status}`, created.json);
    return false;
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
  const history = (await call(simulator, 'GET', `/sandbox/orders/${no}`)).json;
  const notifications = Array.isArray(history.notifications) ? (history.notifications as Json[]) : [];
  for (const n of notifications) show('notification', { outcome: n.outcome, status: n.status, reply: n.reply });
  show('final', { status: order.status, payment: order.payment });
  return order.status === 'PAID';
}

const health = await fetch(`${gateway}${HEALTH_ROUTE.path}`).catch(() => undefined);
if (health?.ok !== true) {
  console.error(`no local stack at ${gateway}: run \`npm start\` first (PORT=${env.PORT})`);
  process.exit(1);
}
// The stack says where its simulator is, so the demo follows SIMULATOR_PORT without being told.
const simulator = z.object({ simulator: z.url() }).parse(await health.json()).simulator;
let allPaid = true;
for (const tradeType of ['APP', 'JSAPI', 'NATIVE', 'MWEB']) allPaid = (await payOne(tradeType)) && allPaid;
console.log(allPaid ? '\nall four orders paid' : '\nsome orders did not reach PAID');
process.exit(allPaid ? 0 : 1);
