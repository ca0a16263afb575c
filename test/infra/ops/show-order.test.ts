import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { showOrder, showOrderArguments, ShowOrderUsageError } from '#infra/ops/show-order';
import { writeRunningStack } from '#sandbox/local/running-stack-file';
import { DynamoDbEventLog } from '#shared/adapters/dynamodb-event-log';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { orderView } from '#shared/app/order-view';
import { refundView } from '#shared/app/refund-view';
import { EventRecorder } from '#shared/domain/event-recorder';
import type { Order } from '#shared/domain/order';
import type { NotificationRecord } from '#shared/domain/ports';
import { localEndpoint, testTable, type TestTable } from '#test/helpers/aws';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder } from '#test/helpers/refund-store-contract';

const run = promisify(execFile);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function notification(outTradeNo: string, receivedAt: string, outcome: 'accepted' | 'rejected' = 'accepted') {
  const body = `<xml><out_trade_no>${outTradeNo}</out_trade_no><n>${randomUUID()}</n></xml>`;
  const record: NotificationRecord = {
    id: randomUUID(),
    bodySha256: createHash('sha256').update(body).digest('hex'),
    outTradeNo,
    receivedAt,
    apiVersion: 'v2',
    outcome,
    body,
  };
  return outcome === 'rejected' ? { ...record, reason: 'amount_mismatch' } : record;
}

function capture() {
  const seen = { out: '', err: '' };
  return { seen, output: { out: (t: string) => (seen.out += t), err: (t: string) => (seen.err += t) } };
}

describe('showOrderArguments', () => {
  it('takes one out_trade_no and --json', () => {
    expect(showOrderArguments(['T2030010100001'])).toEqual({ outTradeNo: 'T2030010100001', json: false });
    expect(showOrderArguments(['--json', 'T2030010100001'])).toEqual({ outTradeNo: 'T2030010100001', json: true });
  });

  it.each([
    [[], /no out_trade_no/],
    [['A2030010100001', 'B2030010100001'], /more than one/],
    [['T2030010100001', '--jsno'], /jsno/],
    [['no spaces allowed'], /out_trade_no must be/],
  ])('refuses %j with what is wrong and the usage', (argv, message) => {
    expect(() => showOrderArguments(argv)).toThrow(ShowOrderUsageError);
    expect(() => showOrderArguments(argv)).toThrow(message);
    expect(() => showOrderArguments(argv)).toThrow(/usage: npm run orders -- <out_trade_no> \[--json\]/);
  });
});

describe('npm run orders (infra/ops/show-order.ts) over a real table', () => {
  let table: TestTable;
  let order: Order;
  let refundNo: string;
  let dataDir: string;
  let deployedEnv: Record<string, string>;

  beforeAll(async () => {
    table = await testTable();
    const refunds = new DynamoDbRefundStore({ tableName: table.tableName, client: table.documentClient });
    const log = new DynamoDbEventLog({ tableName: table.tableName, client: table.documentClient, settleMs: 0 });
    const recorder = new EventRecorder({
      log,
      outlets: [],
      describe: (change) => (change.kind === 'payment' ? orderView(change.after) : refundView(change.after)),
    });

    // Created, then paid by a notification: the order's write stores the notification with it.
    const created = orderFixture({
      prepay: { prepayId: 'wx2030', client: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' }, validUntil: at(7200) },
    });
    await table.store.create(created);
    const paid = paidOrder(1999);
    const transition = await table.store.transition({
      outTradeNo: created.outTradeNo,
      to: 'PAID',
      at: at(30),
      source: 'notify',
      payment: paid.payment,
      notification: notification(created.outTradeNo, at(30)),
    });
    if (transition.kind !== 'applied') throw new Error(`not paid: ${transition.kind}`);
    order = transition.order;
    await table.store.recordNotification(notification(order.outTradeNo, at(31), 'rejected'));
    await recorder.record({ kind: 'payment', before: created, after: order });

    const refund = newRefund(order, 500);
    refundNo = refund.outRefundNo;
    const made = await refunds.createRefund(refund);
    if (made.kind !== 'created') throw new Error(`refund not created: ${made.kind}`);
    const done = await refunds.transitionRefund({
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to: 'SUCCESS',
      at: at(100),
      source: 'notify',
      refundId: '50300000000000000000000001',
      successTime: '2030-01-01T08:01:40+08:00',
      notification: notification(order.outTradeNo, at(100)),
    });
    if (done.kind !== 'applied') throw new Error(`refund not done: ${done.kind}`);
    await recorder.record({ kind: 'refund', before: made.refund, after: done.refund });

    // Another order's event in the same log must not show.
    const other = paidOrder(1);
    await table.store.create(other);
    await recorder.record({ kind: 'payment', before: { ...other, status: 'CREATED' }, after: other });

    dataDir = mkdtempSync(join(tmpdir(), 'orders-cli-'));
    deployedEnv = {
      TABLE_NAME: table.tableName,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: localEndpoint('dynamodbEndpoint'),
    };
    // The deployed path takes the default credential chain; DynamoDB Local accepts any key.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('AWS_PROFILE', undefined);
  });

  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('--json: order and refund as the API answers them, history, notifications, events oldest first', async () => {
    const { seen, output } = capture();
    expect(await showOrder([order.outTradeNo, '--json'], deployedEnv, output)).toBe(0);
    expect(seen.err).toBe('');
    const report = JSON.parse(seen.out) as Record<string, unknown>;
    expect(report.order).toMatchObject({
      out_trade_no: order.outTradeNo,
      status: 'PAID',
      payment: { transaction_id: '4200001234567890123456789012', paid_at: '2030-01-01T08:05:10+08:00' },
      refund: { refunded: 500, pending: 0, refundable: 1499 },
    });
    expect(report.history).toEqual([
      { at: at(0), from: null, to: 'CREATED', source: 'api' },
      { at: at(30), from: 'CREATED', to: 'PAID', source: 'notify' },
    ]);
    expect(report.notifications).toEqual([
      expect.objectContaining({ received_at: at(30), outcome: 'accepted', api_version: 'v2' }),
      expect.objectContaining({ received_at: at(31), outcome: 'rejected', reason: 'amount_mismatch' }),
    ]);
    expect(report.refunds).toEqual([
      expect.objectContaining({
        out_refund_no: refundNo,
        status: 'SUCCESS',
        amount: { refund: 500, total: 1999, currency: 'CNY' },
        success_time: '2030-01-01T08:01:40+08:00',
        notifications: [expect.objectContaining({ received_at: at(100), outcome: 'accepted' })],
      }),
    ]);
    const events = report.events as Array<{ type: string; created_at: string; data: Record<string, unknown> }>;
    expect(events.map((e) => e.type)).toEqual(['payment.succeeded', 'refund.succeeded']);
    expect(events.map((e) => e.created_at)).toEqual([at(30), at(100)]);
    expect(events[1]?.data).toMatchObject({ out_refund_no: refundNo });
  });

  it('prints a readable view: status, amounts in fen and yuan, payment, events, notifications, refunds', async () => {
    const { seen, output } = capture();
    expect(await showOrder([order.outTradeNo], deployedEnv, output)).toBe(0);
    const text = seen.out;
    expect(text).toContain(`table ${table.tableName} in us-east-1`);
    expect(text).toContain(`Order ${order.outTradeNo}: PAID`);
    expect(text).toContain('1999 fen (¥19.99 CNY)');
    expect(text).toContain('at 2030-01-01T08:05:10+08:00');
    expect(text).toContain('refunded 500 fen (¥5.00 CNY), pending 0 fen (¥0.00 CNY), refundable 1499 fen (¥14.99 CNY)');
    expect(text).toMatch(
      /Events \(2, oldest first\)\n {2}\S+ {2}payment\.succeeded .*\n {2}\S+ {2}refund\.succeeded refund /,
    );
    expect(text).toContain('Notifications received (2)');
    expect(text).toContain('v2 rejected: amount_mismatch');
    expect(text).toContain(`${refundNo}: SUCCESS, 500 fen (¥5.00 CNY)`);
  });

  it('reads the running local stack when TABLE_NAME is not set', async () => {
    writeRunningStack(dataDir, {
      pid: process.pid,
      region: 'us-east-1',
      sqsEndpoint: 'http://127.0.0.1:9',
      dynamodbEndpoint: localEndpoint('dynamodbEndpoint'),
      tableName: table.tableName,
    });
    const { seen, output } = capture();
    expect(await showOrder([order.outTradeNo, '--json'], { DATA_DIR: dataDir }, output)).toBe(0);
    expect((JSON.parse(seen.out) as { order: { status: string } }).order.status).toBe('PAID');
  });

  it('an unknown order: exit 1, saying so and where it looked', async () => {
    const { seen, output } = capture();
    expect(await showOrder(['T0000000000404'], deployedEnv, output)).toBe(1);
    expect(seen.out).toBe('');
    const where = `table ${table.tableName} in us-east-1 at ${deployedEnv.AWS_ENDPOINT_URL_DYNAMODB}`;
    expect(seen.err).toBe(`orders: no order T0000000000404 in the ${where}\n`);
  });

  it('no store to read: exit 2, naming both ways to give one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'orders-cli-none-'));
    try {
      const { seen, output } = capture();
      expect(await showOrder([order.outTradeNo], { DATA_DIR: empty }, output)).toBe(2);
      expect(seen.err).toMatch(/no local stack is running on .*npm start.*TABLE_NAME and AWS_REGION/);
      const noRegion = capture();
      expect(await showOrder([order.outTradeNo], { TABLE_NAME: 'orders' }, noRegion.output)).toBe(2);
      expect(noRegion.seen.err).toMatch(/AWS_REGION/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('every time it prints in --json is RFC 3339 with an offset', async () => {
    const { seen, output } = capture();
    await showOrder([order.outTradeNo, '--json'], deployedEnv, output);
    const times: string[] = [];
    JSON.parse(seen.out, (key, value: unknown) => {
      if (typeof value === 'string' && /(_at|_time|^at)$/.test(key)) times.push(value);
      return value;
    });
    expect(times.length).toBeGreaterThan(10);
    for (const time of times) expect(time).toMatch(RFC3339);
  });

  it('runs as npm run orders: exit codes 0, 1 and 2 from the process', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...deployedEnv,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    delete env.AWS_PROFILE;
    const script = ['--import', 'tsx', 'infra/ops/show-order.ts'];
    const shown = await run(process.execPath, [...script, order.outTradeNo, '--json'], { env });
    expect((JSON.parse(shown.stdout) as { order: { out_trade_no: string } }).order.out_trade_no).toBe(order.outTradeNo);
    await expect(run(process.execPath, [...script, 'T0000000000404'], { env })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no order T0000000000404'),
    });
    await expect(run(process.execPath, [...script], { env })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: npm run orders'),
    });
  });
});
