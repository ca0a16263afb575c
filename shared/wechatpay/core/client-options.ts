import { X509Certificate } from 'node:crypto';
import * as z from 'zod';
import { randomNonce } from './nonce';
import { waitMs } from './retry';
import { tlsFetch } from './tls-fetch';

/** How a client reaches WeChat Pay: the options every API version's client takes. */
export interface TransportOptions {
  /** https://api.mch.weixin.qq.com, or the simulator's address (WECHATPAY_BASE_URL). */
  baseUrl: string;
  /** Per attempt, connecting to the end of the body. Default 5000. */
  timeoutMs?: number;
  /** Attempts in all, retrying transient failures only. Default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
  /**
   * A CA certificate (PEM) trusted besides the public roots: the local simulator's. Without `fetch`,
   * requests then go through tlsFetch; against WeChat itself it is left unset.
   */
  trustedCaPem?: string;
  /** Nonces for signatures and client parameters. Default 32 random hex digits. */
  nonce?: () => string;
  sleep?: (ms: number) => Promise<void>;
  /**
   * The instant (ms since the epoch) by which a call must be over, read at every attempt; undefined
   * (or returning undefined) for none. A caller in a Lambda gives its remaining time less what it
   * keeps for recording the outcome. See deadline.ts.
   */
  deadline?: () => number | undefined;
  /** No attempt starts with less time than this before the deadline. Default 1000. */
  minAttemptMs?: number;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

/** Spread into each client's options schema. */
export const transportOptionsShape = {
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  // Per attempt: three attempts must fit in a Lambda that API Gateway gives 30 s.
  timeoutMs: z.int().min(1).max(120_000).optional(),
  maxAttempts: z.int().min(1).max(10).optional(),
  fetch: z.custom<typeof fetch>(isFunction, 'must be a function').optional(),
  trustedCaPem: z.string().refine(isCertificate, 'must be a PEM certificate').optional(),
  nonce: z.custom<() => string>(isFunction, 'must be a function').optional(),
  sleep: z.custom<(ms: number) => Promise<void>>(isFunction, 'must be a function').optional(),
  deadline: z.custom<() => number | undefined>(isFunction, 'must be a function').optional(),
  minAttemptMs: z.int().min(1).max(60_000).optional(),
};

export interface Transport {
  baseUrl: string;
  timeoutMs: number;
  maxAttempts: number;
  fetch: typeof fetch;
  /** Trusted besides the public roots, for fetches made with other TLS options (a client certificate). */
  trustedCaPem: string | undefined;
  nonce: () => string;
  sleep: (ms: number) => Promise<void>;
  deadline: () => number | undefined;
  minAttemptMs: number;
  /** The clock deadlines are read against: the real one, as the network's time is real. */
  now: () => number;
}

/** Validated options with their defaults filled in. */
export function transportOf(options: TransportOptions): Transport {
  return {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    timeoutMs: options.timeoutMs ?? 5000,
    maxAttempts: options.maxAttempts ?? 3,
    fetch:
      options.fetch ??
      (options.trustedCaPem !== undefined
        ? tlsFetch({ caPem: options.trustedCaPem })
        : // Looked up at call time, so a fetch replaced after construction (tests, instrumentation) is used.
          (input, init) => fetch(input, init)),
    trustedCaPem: options.trustedCaPem,
    nonce: options.nonce ?? randomNonce,
    sleep: options.sleep ?? waitMs,
    deadline: options.deadline ?? (() => undefined),
    minAttemptMs: options.minAttemptMs ?? 1000,
    now: Date.now,
  };
}
