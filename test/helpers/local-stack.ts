import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';

import { inject } from 'vitest';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '#sandbox/local/stack';
import { buildTransactionNotification } from '#shared/wechatpay/v3/testing/wechat-messages';
import { paidNotificationFields, signedV2Notification, type V2Fields } from './wechatpay-v2';

export interface HttpAnswer {
  status: number;
  /** The body parsed, when it is a JSON object; {} otherwise (see `text`). */
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

export interface TestStack extends LocalStack {
  /** Calls the app-backend API (or /notify/pay) through the gateway. */
  api(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /** Calls the simulator's own API (e.g. POST /sandbox/orders/{out_trade_no}/pay). */
  simulator(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /**
   * POSTs a correctly signed v2 payment notification for the order to /notify/pay, as WeChat would;
   * `ok` is whether the reply was SUCCESS.
   */
  notifyPaid(
    outTradeNo: string,
    transactionId: string,
    totalFee: number,
    overrides?: V2Fields,
  ): Promise<{ ok: boolean; status: number; text: string }>;
  /** WeChat's v3 signing key, held by the test so it can sign notifications (v3 stacks only). */
  platformKey: KeyObject | undefined;
  /** The stack's own log lines (gateway requests, function errors), kept for assertions. */
  logs: string[];
}

async function call(baseUrl: string, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: the caller reads `text`.
  }
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * A whole local stack for an end-to-end test, on the run's DynamoDB and SQS servers, with its own
 * table and queues, free ports and an in-memory simulator. The sweep timer is off (call
 * `stack.sweep()`); handler logs are at WARN. Stop it in afterAll/afterEach. Webhooks are on when a
 * URL is given (`webhookUrl`, or MERCHANT_WEBHOOK_URL in `env`), with `webhookSecret` and a short
 * `webhookRetrySchedule` (e.g. '1,1') for a test that waits for retries and the dead-letter queue.
 */
export async function startTestStack(overrides: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const id = randomUUID().slice(0, 12);
  const logs: string[] = [];
  const merchant = overrides.merchant ?? SANDBOX_MERCHANT;
  // In v3 the test holds WeChat's signing key, so it can sign notifications as WeChat would.
  const platformKey =
    overrides.env?.WECHATPAY_API_VERSION === 'v3'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : undefined;
  const stack = await startLocalStack({
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    sqsEndpoint: inject('sqsEndpoint'),
    tableName: `orders-${id}`,
    queueName: `reconcile-${id}`,
    port: 0,
    simulatorPort: 0,
    sweepIntervalMs: 0,
    // Events follow their change within a few tens of milliseconds (Lambda: a quarter of a second).
    streamPollIntervalMs: 50,
    log: (line) => logs.push(line),
    simulatorPlatformPrivateKey: platformKey?.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ...overrides,
    env: { LOG_LEVEL: 'WARN', ...overrides.env },
  });
  return {
    ...stack,
    logs,
    api: (method, path, body) => call(stack.gatewayUrl, method, path, body),
    simulator: (method, path, body) => {
      if (stack.simulatorUrl === undefined) throw new Error('this stack runs without a simulator');
      return call(stack.simulatorUrl, method, path, body);
    },
    platformKey,
    notifyPaid: async (outTradeNo, transactionId, totalFee, fields = {}) => {
      const order = await stack.store.get(outTradeNo);
      if (platformKey !== undefined) {
        const { headers, body } = signedV3Notification(stack, platformKey, {
          ...paidV3Transaction(merchant, outTradeNo, transactionId, totalFee),
          trade_type: order?.request.tradeType ?? 'NATIVE',
        });
        const res = await fetch(stack.notifyUrl, { method: 'POST', headers, body });
        return { ok: res.status === 204 || res.status === 200, status: res.status, text: await res.text() };
      }
      const body = signedV2Notification(
        paidNotificationFields(merchant, outTradeNo, {
          trade_type: order?.request.tradeType ?? 'NATIVE',
          transaction_id: transactionId,
          total_fee: String(totalFee),
          cash_fee: String(totalFee),
          ...fields,
        }),
        merchant.apiKey,
      );
      const res = await fetch(`${stack.notifyUrl}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
      const text = await res.text();
      return {
        ok: res.status === 200 && /<return_code>(<!\[CDATA\[)?SUCCESS(\]\]>)?<\/return_code>/.test(text),
        status: res.status,
        text,
      };
    },
  };
}

/** A paid transaction as WeChat v3 reports it in a notification or a query. */
export function paidV3Transaction(
  merchant: { appid: string; mchid: string },
  outTradeNo: string,
  transactionId: string,
  total: number,
): Record<string, unknown> {
  return {
    appid: merchant.appid,
    mchid: merchant.mchid,
    out_trade_no: outTradeNo,
    transaction_id: transactionId,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    payer: { openid: 'oTestPayer' },
    amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' },
  };
}

/** A v3 notification signed with WeChat's key and encrypted under the stack's APIv3 key. */
export function signedV3Notification(
  stack: LocalStack,
  platformKey: KeyObject,
  transaction: Record<string, unknown>,
  opts: { now?: Date; serial?: string; apiV3Key?: string } = {},
): { headers: Record<string, string>; body: string } {
  const apiV3Key = opts.apiV3Key ?? stack.settings.WECHATPAY_APIV3_KEY;
  const serial = opts.serial ?? stack.settings.WECHATPAY_PUBLIC_KEY_ID;
  if (apiV3Key === undefined || serial === undefined) throw new Error('not a v3 stack');
  const built = buildTransactionNotification({
    transaction,
    apiV3Key,
    signer: { privateKey: platformKey, serial },
    now: opts.now ?? new Date(),
  });
  return { headers: built.headers, body: built.body };
}
