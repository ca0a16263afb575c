import { randomUUID } from 'node:crypto';

import { inject } from 'vitest';

import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../infra/local/stack';

export interface HttpAnswer {
  status: number;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  json: unknown;
  text: string;
  headers: Headers;
}

export interface TestStack extends LocalStack {
  /** Calls the app-backend API (or /notify/pay) through the gateway. */
  api(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /** Calls the simulator's own API (e.g. POST /sandbox/orders/{out_trade_no}/pay). */
  simulator(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
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
  let json: unknown;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
  }
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * A whole local stack for an end-to-end test, on the run's DynamoDB and SQS servers, with its own
 * table and queues, free ports and an in-memory simulator. The sweep timer is off (call
 * `stack.sweep()`); handler logs are at WARN. Stop it in afterAll/afterEach.
 */
export async function startTestStack(overrides: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const id = randomUUID().slice(0, 12);
  const logs: string[] = [];
  const stack = await startLocalStack({
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    sqsEndpoint: inject('sqsEndpoint'),
    tableName: `orders-${id}`,
    queueName: `reconcile-${id}`,
    port: 0,
    simulatorPort: 0,
    sweepIntervalMs: 0,
    log: (line) => logs.push(line),
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
  };
}
