import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { iamCheckedNotice } from '#sandbox/local/gateway';
import { LocalSettingsError } from '#sandbox/local/local-settings';
import { redriveMessages } from '#sandbox/local/redrive-webhooks';
import { localSqsClient } from '#sandbox/local/resources';
import { STREAM_POSITIONS_FILE } from '#sandbox/local/stream-positions-file';
import { SANDBOX_APPSECRET_FILE } from '#sandbox/simulator/sandbox-appsecret';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { createHandlers } from '#shared/app/handlers';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import { startTestStack, type TestStack } from '#test/helpers/local-stack';
import { signedFetch } from '#test/helpers/sigv4-request';
import { startWebhookReceiver, type WebhookReceiver } from '#test/helpers/webhook-receiver';
import { waitFor } from '#test/helpers/wait-for';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function orderBody(outTradeNo: string, total = 101) {
  return {
    out_trade_no: outTradeNo,
    description: 'Local stack test',
    amount: { total, currency: 'CNY' },
    trade_type: 'APP',
    scene_info: { payer_client_ip: '127.0.0.1' },
  };
}

const newOutTradeNo = () => `LS${randomUUID().replaceAll('-', '').slice(0, 20)}`;

describe('local stack in process', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ env: { RECONCILE_SCHEDULE: '1,1,1,1,1' } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves /health and refuses unknown routes', async () => {
    const health = await stack.api('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', tableName: stack.tableName });
    const unknown = await stack.api('GET', '/nope');
    expect(unknown.status).toBe(404);
  });

  it("links an order to the simulator's cashier page (SANDBOX_CASHIER_BASE_URL)", async () => {
    expect(stack.settings.SANDBOX_CASHIER_BASE_URL).toBe(`${stack.simulatorUrl}/sandbox/cashier/`);
    const outTradeNo = newOutTradeNo();
    const created = await stack.api('POST', '/orders', {
      ...orderBody(outTradeNo),
      trade_type: 'NATIVE',
      product_id: 'p',
    });
    expect(created.status, created.text).toBe(201);
    const cashier = created.json.sandbox_cashier_url;
    expect(cashier).toBe(`${stack.simulatorUrl}/sandbox/cashier/${outTradeNo}`);
    const page = await fetch(cashier as string);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('creates an order through the gateway, and marks it paid when the simulator notifies', async () => {
    const outTradeNo = newOutTradeNo();
    const created = await stack.api('POST', '/orders', orderBody(outTradeNo));
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ out_trade_no: outTradeNo, trade_type: 'APP' });

    const paid = await stack.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' });
    expect(paid.status, paid.text).toBe(200);

    const order = await waitFor(
      () => stack.api('GET', `/orders/${outTradeNo}`),
      (a) => (a.json as { status?: string }).status === 'PAID',
    );
    expect(order.status).toBe(200);
    // The notification reached the notify handler through the gateway.
    expect(stack.logs.some((l) => l.startsWith('POST /notify/pay → 200'))).toBe(true);
  });

  it('feeds the reconcile queue to the reconcile handler: a dropped notification is recovered by a query', async () => {
    const outTradeNo = newOutTradeNo();
    const faults = await stack.simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: outTradeNo });
    expect(faults.status, faults.text).toBe(200);
    expect((await stack.api('POST', '/orders', orderBody(outTradeNo))).status).toBe(201);
    expect((await stack.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' })).status).toBe(
      200,
    );

    await waitFor(
      () => stack.api('GET', `/orders/${outTradeNo}`),
      (a) => (a.json as { status?: string }).status === 'PAID',
      { timeoutMs: 20_000 },
    );
    const order = await stack.store.get(outTradeNo);
    expect(order?.history.find((h) => h.to === 'PAID')?.source).toBe('reconcile');
  });

  it('runs the bills handler behind /reconciliations, and on the daily rule’s event when handed one', async () => {
    // Days long past, on which this stack's simulator saw no trade: WeChat has no bill (an empty day).
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000 + 8 * 3_600_000).toISOString();
    const billDate = day(30).slice(0, 10);
    const dayBefore = day(31).slice(0, 10);
    const emptyDay = {
      status: 'MATCHED',
      counts: { wechat: 0, here: 0, matched: 0, discrepancies: 0 },
      discrepancies: [],
      bill_found: false,
      api_version: 'v2',
    };

    const created = await stack.api('POST', '/reconciliations', { bill_date: billDate });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ bill_date: billDate, ...emptyDay });
    const stored = await stack.api('GET', `/reconciliations/${billDate}`);
    expect(stored.status, stored.text).toBe(200);
    expect(stored.json).toEqual(created.json);
    const none = await stack.api('GET', `/reconciliations/${dayBefore}`);
    expect(none.status).toBe(404);
    expect(none.json).toMatchObject({ error: { code: 'RECONCILIATION_NOT_FOUND' } });
    const future = await stack.api('POST', '/reconciliations', { bill_date: day(-2).slice(0, 10) });
    expect(future.status).toBe(400);
    expect(future.json).toMatchObject({ error: { field: 'bill_date' } });
    expect(stack.logs.some((l) => l.startsWith('POST /reconciliations → 201'))).toBe(true);

    // The rule fires at 10:30 Beijing (02:30 UTC) for the day before: a day with a report is left alone…
    const morningAfter = (date: string) => new Date(`${date}T02:30:00Z`).getTime() + 86_400_000;
    expect(await stack.runBillSchedule(new Date(morningAfter(billDate)))).toEqual({
      billDate,
      outcome: 'already_reconciled',
      reconciledAt: new Date(String((created.json as { reconciled_at: string }).reconciled_at)).toISOString(),
    });
    // … and one without is reconciled and stored.
    expect(await stack.runBillSchedule(new Date(morningAfter(dayBefore)))).toMatchObject({
      billDate: dayBefore,
      outcome: 'reconciled',
      status: 'MATCHED',
    });
    const scheduled = await stack.api('GET', `/reconciliations/${dayBefore}`);
    expect(scheduled.status, scheduled.text).toBe(200);
    expect(scheduled.json).toMatchObject({ bill_date: dayBefore, ...emptyDay });
  });
});

describe('the simulator over HTTPS', () => {
  it('is what the handlers call, trusting its CA and presenting the client certificate it issued', async () => {
    const stack = await startTestStack();
    try {
      const tls = stack.simulatorTls;
      expect(stack.simulatorHttpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(stack.simulatorHttpsUrl?.replace('https:', 'http:')).toBe(stack.simulatorUrl);
      expect(stack.settings.WECHATPAY_BASE_URL).toBe(stack.simulatorHttpsUrl);
      expect(stack.settings.WECHATPAY_TRUSTED_CA).toBe(tls?.caCertPem);
      expect(stack.settings.WECHATPAY_API_CLIENT_CERT).toBe(tls?.clientCertPem);
      expect(stack.settings.WECHATPAY_API_CLIENT_KEY).toBe(tls?.clientKeyPem);
      // WeChat's apiclient certificate names the merchant: CN = mch_id.
      const cert = new X509Certificate(tls?.clientCertPem ?? '');
      expect(cert.subject).toContain(`CN=${SANDBOX_MERCHANT.mchid}`);
      expect(cert.checkIssued(new X509Certificate(tls?.caCertPem ?? ''))).toBe(true);
    } finally {
      await stack.stop();
    }
  });

  it("stops the start when the developer's own client certificate is not the simulator CA's, naming it", async () => {
    const own = createCertificateAuthority().issue({ commonName: SANDBOX_MERCHANT.mchid, usage: 'client' });
    const start = startTestStack({
      env: { WECHATPAY_API_CLIENT_CERT: own.certPem, WECHATPAY_API_CLIENT_KEY: own.keyPem },
    });
    await expect(start).rejects.toBeInstanceOf(LocalSettingsError);
    await expect(start).rejects.toThrow(/WECHATPAY_API_CLIENT_CERT is not issued by the simulator's CA/);
  });

  it("keeps the developer's own client certificate when the simulator's CA issued it", async () => {
    const ca = createCertificateAuthority({ commonName: 'test simulator CA' });
    const own = ca.issue({ commonName: SANDBOX_MERCHANT.mchid, usage: 'client' });
    const stack = await startTestStack({
      simulatorCa: { caCertPem: ca.certPem, caKeyPem: ca.keyPem },
      env: { WECHATPAY_API_CLIENT_CERT: own.certPem, WECHATPAY_API_CLIENT_KEY: own.keyPem },
    });
    try {
      expect(stack.simulatorTls?.caCertPem).toBe(ca.certPem);
      expect(stack.simulatorTls?.clientCertPem).not.toBe(own.certPem);
      expect(stack.settings.WECHATPAY_API_CLIENT_CERT).toBe(own.certPem);
      expect(stack.settings.WECHATPAY_API_CLIENT_KEY).toBe(own.keyPem);
    } finally {
      await stack.stop();
    }
  });
});

describe('the mini program login', () => {
  it('is the simulator’s, sharing its AppSecret with the handlers (kept in sandboxKeysDir)', async () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'wechatpay-appsecret-'));
    const stack = await startTestStack({ sandboxKeysDir: keysDir });
    try {
      expect(stack.settings.WECHAT_API_BASE_URL).toBe(stack.simulatorHttpsUrl);
      const kept = readFileSync(join(keysDir, SANDBOX_APPSECRET_FILE), 'utf8').trim();
      expect(kept).toMatch(/^[0-9a-f]{32}$/);
      expect(stack.settings.WECHAT_APPSECRET).toBe(kept);
      expect(stack.simulatorAppSecret).toBe(kept);
      const login = await stack.simulator('POST', '/sandbox/miniprogram/login', {});
      const session = await stack.api('POST', '/miniprogram/sessions', { code: login.json.code });
      expect(session.status, session.text).toBe(201);
      expect(session.json).toEqual({ openid: login.json.openid });
    } finally {
      await stack.stop();
      rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it("gives the simulator and the handlers the developer's AppSecret", async () => {
    const appSecret = 'Dev0AppSecret0123456789abcdefABC';
    const stack = await startTestStack({ env: { WECHAT_APPSECRET: appSecret } });
    try {
      expect(stack.settings.WECHAT_APPSECRET).toBe(appSecret);
      expect(stack.simulatorAppSecret).toBe(appSecret);
    } finally {
      await stack.stop();
    }
  });

  it('against a WeChat Pay elsewhere, is WeChat’s own api.weixin.qq.com, with no generated AppSecret', async () => {
    // Nothing is called at start: a loopback port nobody listens on stands for WeChat Pay.
    const stack = await startTestStack({ wechatpayBaseUrl: 'https://127.0.0.1:9' });
    try {
      expect(stack.simulatorUrl).toBeUndefined();
      expect(stack.simulatorAppSecret).toBeUndefined();
      expect(stack.settings.WECHAT_API_BASE_URL).toBe('https://api.weixin.qq.com');
      expect(stack.settings.WECHAT_APPSECRET).toBeUndefined();
      // No cashier page to link to: WeChat Pay is elsewhere.
      expect(stack.settings.SANDBOX_CASHIER_BASE_URL).toBeUndefined();
    } finally {
      await stack.stop();
    }
  });
});

describe('a local stack with LOCAL_IAM', () => {
  const key = { accessKeyId: 'AKIALOCALSTACK01', secretAccessKey: 'local-stack/secret+0123456789' };
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ localIam: key, region: 'ap-southeast-1' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves SigV4-signed calls to the real handlers, refuses unsigned ones; WeChat notifies unsigned', async () => {
    const outTradeNo = newOutTradeNo();
    const body = JSON.stringify(orderBody(outTradeNo));
    const unsigned = await stack.api('POST', '/orders', JSON.parse(body));
    expect(unsigned.status).toBe(403);
    expect(unsigned.json).toEqual({ message: 'Forbidden' });
    expect(await stack.store.get(outTradeNo)).toBeUndefined();

    const sign = { credentials: key, region: 'ap-southeast-1' };
    const created = await signedFetch(`${stack.gatewayUrl}/orders`, { ...sign, method: 'POST', body });
    expect(created.status, await created.clone().text()).toBe(201);
    const otherRegion = await signedFetch(`${stack.gatewayUrl}/orders/${outTradeNo}`, { ...sign, region: 'us-east-1' });
    expect(otherRegion.status).toBe(403);

    const notified = await stack.notifyPaid(outTradeNo, '4200000000000000000000000001', 101);
    expect(notified.ok).toBe(true);
    const order = await signedFetch(`${stack.gatewayUrl}/orders/${outTradeNo}`, sign);
    expect(await order.json()).toMatchObject({ out_trade_no: outTradeNo, status: 'PAID' });
    expect((await stack.api('GET', '/health')).json).toMatchObject({ status: 'ok', iamAuth: 'checked' });
  });

  it('serves GET /openapi.json unsigned, naming the gateway as the server', async () => {
    const doc = await stack.api('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toMatch(/^3\.1\./);
    expect(doc.json.servers).toEqual([expect.objectContaining({ url: stack.gatewayUrl })]);
  });
});

describe('two stacks in one process', () => {
  it('keep to their own table, queues and simulator', async () => {
    const [a, b] = await Promise.all([startTestStack(), startTestStack()]);
    try {
      expect(a.tableName).not.toBe(b.tableName);
      expect(a.settings.NOTIFY_URL).toBe(`${a.gatewayUrl}/notify/pay`);
      expect(b.settings.NOTIFY_URL).toBe(`${b.gatewayUrl}/notify/pay`);
      const outTradeNo = newOutTradeNo();
      expect((await a.api('POST', '/orders', orderBody(outTradeNo))).status).toBe(201);
      expect((await a.api('GET', `/orders/${outTradeNo}`)).status).toBe(200);
      expect((await b.api('GET', `/orders/${outTradeNo}`)).status).toBe(404);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('local stack in process: events from the table stream, webhooks through the FIFO queue', () => {
  const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  let stack: TestStack;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret });
    // One retry after a second, then the dead-letter queue (maxReceiveCount 2).
    stack = await startTestStack({ webhookUrl: receiver.url, webhookSecret: secret, webhookRetrySchedule: '1' });
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  async function depth(queueUrl: string): Promise<number> {
    const { Attributes: a } = await stack.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(a?.ApproximateNumberOfMessages ?? 0) + Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  it('makes the webhook FIFO queues beside the reconcile queue and gives the handlers their URL', () => {
    expect(stack.webhookQueueUrl).toMatch(new RegExp(`/${stack.queueName}-webhooks\\.fifo$`));
    expect(stack.webhookDlqUrl).toMatch(new RegExp(`/${stack.queueName}-webhooks-dlq\\.fifo$`));
    expect(stack.settings.WEBHOOK_QUEUE_URL).toBe(stack.webhookQueueUrl);
    expect(stack.settings.WEBHOOK_RETRY_SCHEDULE).toEqual([1]);
  });

  it('retries a failing receiver on schedule, then the DLQ; a redrive delivers it with the same id', async () => {
    const outTradeNo = newOutTradeNo();
    expect((await stack.api('POST', '/orders', orderBody(outTradeNo))).status).toBe(201);
    receiver.failNext(2);
    const paid = await stack.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' });
    expect(paid.status, paid.text).toBe(200);

    const failed = await receiver.waitFor((attempts) => attempts.length >= 2, 15_000);
    expect(failed.map((a) => a.answered)).toEqual([500, 500]);
    expect(failed.every((a) => a.verified)).toBe(true);
    expect((failed[1]?.at ?? 0) - (failed[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    await waitFor(
      () => depth(stack.webhookDlqUrl as string),
      (n) => n === 1,
      { timeoutMs: 10_000 },
    );
    expect(receiver.attempts).toHaveLength(2);

    const { moved } = await redriveMessages({
      sqs: stack.sqs,
      dlqUrl: stack.webhookDlqUrl as string,
      queueUrl: stack.webhookQueueUrl as string,
      waitTimeSeconds: 0,
    });
    expect(moved).toBe(1);
    const all = await receiver.waitFor((attempts) => attempts.length >= 3, 10_000);
    expect(all[2]?.answered).toBeGreaterThanOrEqual(200);
    expect(all[2]?.answered).toBeLessThan(300);
    const id = all[0]?.headers['webhook-id'];
    expect(all.map((a) => a.headers['webhook-id'])).toEqual([id, id, id]);
    expect(receiver.delivered()).toEqual([
      expect.objectContaining({
        id,
        type: 'payment.succeeded',
        data: expect.objectContaining({ out_trade_no: outTradeNo }),
      }),
    ]);
    expect(await depth(stack.webhookDlqUrl as string)).toBe(0);
  });
});

// ---- npm start, as a child process ------------------------------------------------------------

interface Started {
  child: ChildProcess;
  output: () => string;
  urls: Record<string, string>;
  startupMs: number;
}

const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

function runStart(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const child = spawn(TSX, ['sandbox/local/start.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function startUntilReady(
  env: Record<string, string>,
): Promise<Started & { exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const began = Date.now();
  const run = runStart(env);
  const line = await waitFor(
    async () => {
      const found = run
        .output()
        .split('\n')
        .find((l) => l.startsWith('ready '));
      if (found === undefined && run.child.exitCode !== null)
        throw new Error(`npm start exited early:\n${run.output()}`);
      return found;
    },
    (l) => l !== undefined,
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  const startupMs = Date.now() - began;
  const urls = Object.fromEntries(
    (line as string)
      .slice('ready '.length)
      .split(' ')
      .map((pair) => pair.split('=') as [string, string]),
  );
  return { ...run, urls, startupMs };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('a local stack started again on the same data directory', () => {
  it('reads the table stream on from where it stopped: no event is handed over again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stack-restart-'));
    const id = randomUUID().slice(0, 8);
    // The stream records the events function is handed, across both runs.
    const handed: string[] = [];
    const options = {
      dataDir,
      tableName: `restart-${id}`,
      queueName: `restart-${id}`,
      createHandlers: (...args: Parameters<typeof createHandlers>) => {
        const handlers = createHandlers(...args);
        return {
          ...handlers,
          events: (event: Parameters<typeof handlers.events>[0], context: Parameters<typeof handlers.events>[1]) => {
            handed.push(...event.Records.map((r) => r.dynamodb?.SequenceNumber ?? ''));
            return handlers.events(event, context);
          },
        };
      },
    };
    // A paid order: a change the events function's filter lets through.
    const payNewOrder = async (running: TestStack) => {
      const outTradeNo = newOutTradeNo();
      expect((await running.api('POST', '/orders', orderBody(outTradeNo))).status).toBe(201);
      const paid = await running.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' });
      expect(paid.status, paid.text).toBe(200);
    };
    let stack: TestStack | undefined;
    try {
      stack = await startTestStack(options);
      await payNewOrder(stack);
      await waitFor(
        async () => handed.length,
        (n) => n >= 1,
      );
      // Any later change of the order comes through too before the stop.
      await new Promise((r) => setTimeout(r, 300));
      await stack.stop();
      stack = undefined;
      expect(existsSync(join(dataDir, STREAM_POSITIONS_FILE))).toBe(true);
      const firstRun = [...handed];

      stack = await startTestStack(options);
      await payNewOrder(stack);
      await waitFor(
        async () => handed.length,
        (n) => n > firstRun.length,
      );
      // Time for a re-read from the trim horizon to show, had there been one.
      await new Promise((r) => setTimeout(r, 300));
      const secondRun = handed.slice(firstRun.length);
      expect(secondRun.filter((sequenceNumber) => firstRun.includes(sequenceNumber))).toEqual([]);
      expect(secondRun.length).toBeLessThanOrEqual(firstRun.length);
    } finally {
      await stack?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wechatpay-local-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(
    'prints ready with the URLs, answers /health, stops cleanly on SIGTERM and keeps the data',
    { timeout: 150_000 },
    async () => {
      const env = { DATA_DIR: dataDir, PORT: '0', SIMULATOR_PORT: '0' };
      const first = await startUntilReady(env);
      console.log(`npm start → ready in ${first.startupMs} ms (fresh data dir)`);
      const { gateway, notify, simulator, dynamodb, sqs } = first.urls as Record<string, string>;
      for (const url of [gateway, simulator, dynamodb, sqs]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(notify).toBe(`${gateway}/notify/pay`);
      expect(first.urls.sandbox).toBe(`${simulator}/sandbox`);
      expect(first.urls.openapi).toBe(`${gateway}/openapi.json`);
      expect(first.output()).toContain('IAM authorization is NOT checked locally');
      // Webhooks are off without MERCHANT_WEBHOOK_URL, but the secret a receiver will need is already kept.
      expect(first.urls.webhooks).toBe('none');
      const secretFile = join(dataDir, 'merchant-webhook-secret');
      expect(first.urls.webhook_secret_file).toBe(secretFile);
      const secret = readFileSync(secretFile, 'utf8').trim();
      expect(secret).toMatch(/^whsec_/);
      expect(first.output()).not.toContain(secret);
      // What `npm run orders` reads to find the running stack's store.
      expect(JSON.parse(readFileSync(join(dataDir, 'running-stack.json'), 'utf8'))).toMatchObject({
        dynamodbEndpoint: dynamodb,
        tableName: 'wechatpay-orders',
      });
      // The mini program logs in at the simulator over HTTPS, with the sandbox AppSecret kept beside the data.
      expect(first.urls.wechat_api).toBe(simulator?.replace('http:', 'https:'));
      const appSecret = readFileSync(join(dataDir, SANDBOX_APPSECRET_FILE), 'utf8').trim();
      expect(appSecret).toMatch(/^[0-9a-f]{32}$/);
      expect(first.output()).not.toContain(appSecret);

      const health = await fetch(`${gateway}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');

      const outTradeNo = newOutTradeNo();
      const created = await fetch(`${gateway}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(orderBody(outTradeNo, 2_50)),
      });
      expect(created.status, await created.clone().text()).toBe(201);

      first.child.kill('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(join(dataDir, 'running-stack.json'))).toBe(false);
      expect(first.output()).not.toMatch(/stop: .*:|start failed/);
      for (const url of [gateway, simulator, dynamodb, sqs]) expect(await refused(url as string), url).toBe(true);

      const second = await startUntilReady(env);
      console.log(`npm start → ready in ${second.startupMs} ms (existing data dir)`);
      try {
        const again = await fetch(`${second.urls.gateway}/orders/${outTradeNo}`);
        expect(again.status).toBe(200);
        expect(await again.json()).toMatchObject({ out_trade_no: outTradeNo });
        // The simulator kept its state too: the order can still be paid there.
        const pay = await fetch(`${second.urls.simulator}/sandbox/orders/${outTradeNo}/pay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ result: 'SUCCESS' }),
        });
        expect(pay.status).toBe(200);
        // The simulator and the handlers still share the AppSecret kept in DATA_DIR: a login goes through.
        const login = await fetch(`${second.urls.simulator}/sandbox/miniprogram/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        const { code } = (await login.json()) as { code: string };
        const session = await fetch(`${second.urls.gateway}/miniprogram/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code }),
        });
        expect(session.status, await session.clone().text()).toBe(201);
        expect(readFileSync(join(dataDir, SANDBOX_APPSECRET_FILE), 'utf8').trim()).toBe(appSecret);
      } finally {
        second.child.kill('SIGINT');
        expect(await second.exited).toEqual({ code: 0, signal: null });
      }
    },
  );

  it(
    'with only WECHATPAY_APPID, WECHATPAY_MCHID and WECHATPAY_API_KEY set, refunds at once over mutual TLS',
    { timeout: 150_000 },
    async () => {
      const ownDataDir = mkdtempSync(join(tmpdir(), 'wechatpay-refund-'));
      const run = await startUntilReady({
        DATA_DIR: ownDataDir,
        PORT: '0',
        SIMULATOR_PORT: '0',
        WECHATPAY_APPID: 'wx2421b1c4370ec43b',
        WECHATPAY_MCHID: '1900000109',
        WECHATPAY_API_KEY: 'OwnApiV2Key0123456789abcdefghijk',
      });
      try {
        const { gateway, simulator, wechatpay } = run.urls as Record<string, string>;
        // The handlers call the simulator over HTTPS on its one port, trusting the CA it keeps in DATA_DIR.
        expect(wechatpay).toBe(simulator?.replace('http:', 'https:'));
        const ca = new X509Certificate(readFileSync(join(ownDataDir, 'simulator', 'tls-ca-cert.pem')));
        expect(ca.ca).toBe(true);

        const post = (url: string, body: unknown) =>
          fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const outTradeNo = newOutTradeNo();
        const created = await post(`${gateway}/orders`, {
          ...orderBody(outTradeNo, 2_00),
          trade_type: 'NATIVE',
          product_id: 'sku',
        });
        expect(created.status, await created.clone().text()).toBe(201);
        expect((await post(`${simulator}/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' })).status).toBe(200);
        await waitFor(
          async () => (await (await fetch(`${gateway}/orders/${outTradeNo}`)).json()) as { status?: string },
          (order) => order.status === 'PAID',
        );

        const refund = await post(`${gateway}/orders/${outTradeNo}/refunds`, {
          out_refund_no: 'RF1',
          amount: { refund: 50 },
        });
        expect(refund.status, await refund.clone().text()).toBe(201);
        expect((await post(`${simulator}/sandbox/refunds/RF1/complete`, { result: 'SUCCESS' })).status).toBe(200);
        await waitFor(
          async () =>
            (await (await fetch(`${gateway}/orders/${outTradeNo}/refunds/RF1`)).json()) as { status?: string },
          (r) => r.status === 'SUCCESS',
        );
        const order = (await (await fetch(`${gateway}/orders/${outTradeNo}`)).json()) as Record<string, unknown>;
        expect(order.refund).toEqual({ refunded: 50, pending: 0, refundable: 150 });
      } finally {
        run.child.kill('SIGTERM');
        expect(await run.exited).toEqual({ code: 0, signal: null });
        rmSync(ownDataDir, { recursive: true, force: true });
      }
    },
  );

  it(
    'with the six v3 variables and SIMULATOR_PLATFORM_PRIVATE_KEY: an order is created and paid with those keys',
    { timeout: 150_000 },
    async () => {
      const pair = () =>
        generateKeyPairSync('rsa', {
          modulusLength: 2048,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        });
      const merchantKey = pair();
      const wechatKey = pair();
      const ownDataDir = mkdtempSync(join(tmpdir(), 'wechatpay-own-v3-'));
      const run = await startUntilReady({
        DATA_DIR: ownDataDir,
        PORT: '0',
        SIMULATOR_PORT: '0',
        WECHATPAY_API_VERSION: 'v3',
        // One line with \n for the breaks, as in a .env file.
        WECHATPAY_PRIVATE_KEY: merchantKey.privateKey.replaceAll('\n', '\\n'),
        WECHATPAY_CERT_SERIAL: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
        WECHATPAY_APIV3_KEY: 'OwnApiV3Key0123456789abcdefghijk',
        WECHATPAY_PUBLIC_KEY: wechatKey.publicKey,
        WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114232134912410000000000077',
        SIMULATOR_PLATFORM_PRIVATE_KEY: wechatKey.privateKey,
      });
      try {
        const { gateway, simulator } = run.urls as Record<string, string>;
        const outTradeNo = newOutTradeNo();
        const created = await fetch(`${gateway}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...orderBody(outTradeNo, 3_00), trade_type: 'NATIVE', product_id: 'sku' }),
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const pay = await fetch(`${simulator}/sandbox/orders/${outTradeNo}/pay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ result: 'SUCCESS' }),
        });
        expect(pay.status).toBe(200);
        await waitFor(
          async () => (await (await fetch(`${gateway}/orders/${outTradeNo}`)).json()) as { status?: string },
          (order) => order.status === 'PAID',
        );
      } finally {
        run.child.kill('SIGTERM');
        expect(await run.exited).toEqual({ code: 0, signal: null });
        rmSync(ownDataDir, { recursive: true, force: true });
      }
    },
  );

  it('stops a v3 start whose WECHATPAY_PUBLIC_KEY has no simulator key, naming the variable', async () => {
    const { publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const run = runStart({
      DATA_DIR: dataDir,
      WECHATPAY_API_VERSION: 'v3',
      WECHATPAY_PUBLIC_KEY: publicKey,
      WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114232134912410000000000077',
    });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/start failed: .*set SIMULATOR_PLATFORM_PRIVATE_KEY to the private key/);
  });

  it(
    'with LOCAL_IAM=1 checks SigV4 with the key pair given, and never prints its secret',
    { timeout: 150_000 },
    async () => {
      const ownDataDir = mkdtempSync(join(tmpdir(), 'wechatpay-iam-'));
      const key = { accessKeyId: 'AKIANPMSTART0001', secretAccessKey: 'npm-start/secret+0123456789' };
      const run = await startUntilReady({
        DATA_DIR: ownDataDir,
        PORT: '0',
        SIMULATOR_PORT: '0',
        LOCAL_IAM: '1',
        LOCAL_IAM_ACCESS_KEY_ID: key.accessKeyId,
        LOCAL_IAM_SECRET_ACCESS_KEY: key.secretAccessKey,
      });
      try {
        const { gateway } = run.urls as Record<string, string>;
        expect((await fetch(`${gateway}/events`)).status).toBe(403);
        const signed = await signedFetch(`${gateway}/events?limit=1`, { credentials: key, region: 'us-east-1' });
        expect(signed.status, await signed.clone().text()).toBe(200);
        expect(run.output()).toContain(iamCheckedNotice(key.accessKeyId, 'us-east-1'));
        expect(run.output()).not.toContain('IAM authorization is NOT checked');
        expect(run.output()).not.toContain(key.secretAccessKey);
      } finally {
        run.child.kill('SIGTERM');
        expect(await run.exited).toEqual({ code: 0, signal: null });
        rmSync(ownDataDir, { recursive: true, force: true });
      }
    },
  );

  it('stops a LOCAL_IAM=1 start without its secret access key, naming it', async () => {
    const run = runStart({ DATA_DIR: dataDir, LOCAL_IAM: '1', LOCAL_IAM_ACCESS_KEY_ID: 'AKIANPMSTART0001' });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/start failed: invalid settings: LOCAL_IAM=1 needs LOCAL_IAM_SECRET_ACCESS_KEY/);
  });

  it('refuses bad settings by name and exits 1', { timeout: 30_000 }, async () => {
    const run = runStart({ DATA_DIR: dataDir, PORT: 'eighty', WECHATPAY_API_KEY: 'secret-should-not-appear' });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/start failed: invalid settings: PORT/);
    expect(run.output()).not.toContain('secret-should-not-appear');
  });

  it(
    'exits 1 with a clear message when the gateway port is taken, stopping what it had started',
    { timeout: 90_000 },
    async () => {
      const blocker = await listenOnFreePort();
      const taken = (blocker.address() as { port: number }).port;
      const probe = await listenOnFreePort();
      const sqsPort = (probe.address() as { port: number }).port;
      await new Promise((r) => probe.close(r));
      try {
        const run = runStart({
          DATA_DIR: dataDir,
          PORT: String(taken),
          SIMULATOR_PORT: '0',
          SQS_PORT: String(sqsPort),
        });
        const { code } = await run.exited;
        expect(code).toBe(1);
        expect(run.output()).toMatch(/start failed: .*EADDRINUSE/);
        // The SQS server it had started is gone again.
        expect(await refused(`http://127.0.0.1:${sqsPort}`)).toBe(true);
      } finally {
        await new Promise((r) => blocker.close(r));
      }
    },
  );
});

describe('queues made by the stack', () => {
  it('have the dead-letter redrive the event source relies on', async () => {
    const stack = await startTestStack({ maxReceiveCount: 4, visibilityTimeoutSeconds: 7 });
    const sqs = localSqsClient(stack.settings.AWS_ENDPOINT_URL_SQS as string);
    try {
      const { Attributes: a } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.queueUrl,
          AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'],
        }),
      );
      expect(a?.VisibilityTimeout).toBe('7');
      expect(JSON.parse(a?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 4 });
      expect(JSON.parse(a?.RedrivePolicy ?? '{}').deadLetterTargetArn).toContain(`${stack.queueName}-dlq`);
    } finally {
      sqs.destroy();
      await stack.stop();
    }
  });
});
