import * as z from 'zod';
import { randomNonce } from './nonce';
import { waitMs } from './retry';

/** How a client reaches WeChat Pay: the options every API version's client takes. */
export interface TransportOptions {
  /** https://api.mch.weixin.qq.com, or the simulator's address (WECHATPAY_BASE_URL). */
  baseUrl: string;
  /** Per attempt, connecting to the end of the body. Default 5000. */
  timeoutMs?: number;
  /** Attempts in all, retrying transient failures only. Default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
  /** Nonces for signatures and client parameters. Default 32 random hex digits. */
  nonce?: () => string;
  sleep?: (ms: number) => Promise<void>;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

/** Spread into each client's options schema. */
export const transportOptionsShape = {
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  // Per attempt: three attempts must fit in a Lambda that API Gateway gives 30 s.
  timeoutMs: z.int().min(1).max(120_000).optional(),
  maxAttempts: z.int().min(1).max(10).optional(),
  fetch: z.custom<typeof fetch>(isFunction, 'must be a function').optional(),
  nonce: z.custom<() => string>(isFunction, 'must be a function').optional(),
  sleep: z.custom<(ms: number) => Promise<void>>(isFunction, 'must be a function').optional(),
};

export interface Transport {
  baseUrl: string;
  timeoutMs: number;
  maxAttempts: number;
  fetch: typeof fetch;
  nonce: () => string;
  sleep: (ms: number) => Promise<void>;
}

/** Validated options with their defaults filled in. */
export function transportOf(options: TransportOptions): Transport {
  return {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    timeoutMs: options.timeoutMs ?? 5000,
    maxAttempts: options.maxAttempts ?? 3,
    // Looked up at call time, so a fetch replaced after construction (tests, instrumentation) is used.
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    nonce: options.nonce ?? randomNonce,
    sleep: options.sleep ?? waitMs,
  };
}
