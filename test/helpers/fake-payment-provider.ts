import type { PaymentRequest } from '#shared/domain/order';
import type { PaymentProvider, PrepayResult, TradeReport } from '#shared/domain/ports';

/** One call the provider received, in order. */
export type ProviderCall =
  | { method: 'prepay'; request: PaymentRequest; notifyUrl: string }
  | { method: 'query'; outTradeNo: string }
  | { method: 'close'; outTradeNo: string };

/** What one call answers: a value, an error to throw, or a function of the call giving either. */
export type Scripted<T, Args extends unknown[]> = T | Error | ((...args: Args) => T | Promise<T>);

type PrepayArgs = [request: PaymentRequest, notifyUrl: string];

/**
 * A PaymentProvider whose answers are scripted call by call: each `on…` queues answers, one per call,
 * used in order; a call with nothing queued fails the test with an error naming it, so no call goes
 * unnoticed. Every call is recorded, answered or not.
 */
export class FakePaymentProvider implements PaymentProvider {
  readonly calls: ProviderCall[] = [];
  private readonly prepays: Scripted<PrepayResult, PrepayArgs>[] = [];
  private readonly queries: Scripted<TradeReport, [outTradeNo: string]>[] = [];
  private readonly closes: Scripted<void, [outTradeNo: string]>[] = [];

  constructor(readonly apiVersion: 'v2' | 'v3' = 'v2') {}

  onPrepay(...answers: Scripted<PrepayResult, PrepayArgs>[]): this {
    this.prepays.push(...answers);
    return this;
  }

  onQuery(...answers: Scripted<TradeReport, [outTradeNo: string]>[]): this {
    this.queries.push(...answers);
    return this;
  }

  /** `undefined` answers a successful close. */
  onClose(...answers: Scripted<void, [outTradeNo: string]>[]): this {
    this.closes.push(...answers);
    return this;
  }

  /** The calls of one method, in order. */
  callsOf<M extends ProviderCall['method']>(method: M): Extract<ProviderCall, { method: M }>[] {
    return this.calls.filter((call): call is Extract<ProviderCall, { method: M }> => call.method === method);
  }

  /** Answers queued and not used yet, per method: a test may assert none is left over. */
  get unused(): { prepay: number; query: number; close: number } {
    return { prepay: this.prepays.length, query: this.queries.length, close: this.closes.length };
  }

  /** The requests validate was asked about, in order (kept apart: validate sends nothing). */
  readonly validated: PaymentRequest[] = [];
  /** What validate throws, when set: WeChat's rules refusing the request. */
  refuseRequests: Error | undefined;

  validate(request: PaymentRequest): void {
    this.validated.push(structuredClone(request));
    if (this.refuseRequests !== undefined) throw this.refuseRequests;
  }

  async prepay(request: PaymentRequest, notifyUrl: string): Promise<PrepayResult> {
    this.calls.push({ method: 'prepay', request: structuredClone(request), notifyUrl });
    return answer('prepay', this.prepays, [request, notifyUrl]);
  }

  async query(outTradeNo: string): Promise<TradeReport> {
    this.calls.push({ method: 'query', outTradeNo });
    return answer('query', this.queries, [outTradeNo]);
  }

  async close(outTradeNo: string): Promise<void> {
    this.calls.push({ method: 'close', outTradeNo });
    return answer('close', this.closes, [outTradeNo]);
  }
}

async function answer<T, Args extends unknown[]>(method: string, queue: Scripted<T, Args>[], args: Args): Promise<T> {
  if (queue.length === 0) throw new Error(`FakePaymentProvider: no answer scripted for ${method}(${String(args[0])})`);
  const next = queue.shift() as Scripted<T, Args>;
  if (next instanceof Error) throw next;
  if (typeof next === 'function') return (next as (...a: Args) => T | Promise<T>)(...args);
  return next;
}
