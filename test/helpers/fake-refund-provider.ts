import type { RefundReport } from '#shared/domain/refund';
import type { RefundProvider, RefundSubmission } from '#shared/domain/refund-ports';

/** One call the refund provider received, in order. */
export type RefundProviderCall =
  | { method: 'submitRefund'; submission: RefundSubmission }
  | { method: 'queryRefund'; outTradeNo: string; outRefundNo: string };

/** What one call answers: a value, an error to throw, or a function of the call giving either. */
export type ScriptedRefund<T, Args extends unknown[]> = T | Error | ((...args: Args) => T | Promise<T>);

type SubmitArgs = [submission: RefundSubmission];
type QueryArgs = [outTradeNo: string, outRefundNo: string];

/**
 * WeChat's refund API as a test double, its answers scripted call by call (as FakePaymentProvider):
 * each `on…` queues answers used in order; a call with nothing queued fails with an error naming it,
 * so no call goes unnoticed. Every call is recorded, answered or not, so a test can tell which
 * out_refund_no was sent how often.
 */
export class FakeRefundProvider implements RefundProvider {
  readonly calls: RefundProviderCall[] = [];
  private readonly submits: ScriptedRefund<RefundReport, SubmitArgs>[] = [];
  private readonly queries: ScriptedRefund<RefundReport, QueryArgs>[] = [];

  onSubmit(...answers: ScriptedRefund<RefundReport, SubmitArgs>[]): this {
    this.submits.push(...answers);
    return this;
  }

  onQuery(...answers: ScriptedRefund<RefundReport, QueryArgs>[]): this {
    this.queries.push(...answers);
    return this;
  }

  /** The submissions sent, in order. */
  get submitted(): RefundSubmission[] {
    return this.calls.flatMap((call) => (call.method === 'submitRefund' ? [call.submission] : []));
  }

  /** The queries asked, in order (out_refund_no of each). */
  get queried(): string[] {
    return this.calls.flatMap((call) => (call.method === 'queryRefund' ? [call.outRefundNo] : []));
  }

  /** Answers queued and not used yet, per method: a test may assert none is left over. */
  get unused(): { submit: number; query: number } {
    return { submit: this.submits.length, query: this.queries.length };
  }

  async submitRefund(submission: RefundSubmission): Promise<RefundReport> {
    this.calls.push({ method: 'submitRefund', submission: structuredClone(submission) });
    return answer('submitRefund', this.submits, [submission], submission.outRefundNo);
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<RefundReport> {
    this.calls.push({ method: 'queryRefund', outTradeNo, outRefundNo });
    return answer('queryRefund', this.queries, [outTradeNo, outRefundNo], outRefundNo);
  }
}

async function answer<T, Args extends unknown[]>(
  method: string,
  queue: ScriptedRefund<T, Args>[],
  args: Args,
  name: string,
): Promise<T> {
  const next = queue.shift();
  if (next === undefined) throw new Error(`FakeRefundProvider: no answer scripted for ${method}(${name})`);
  if (next instanceof Error) throw next;
  if (typeof next === 'function') return (next as (...a: Args) => T | Promise<T>)(...args);
  return next;
}
