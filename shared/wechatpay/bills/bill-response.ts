import type { Transport } from '../core/client-options';
import { deadlineError, timeLeftMs } from '../core/deadline';
import { WechatPayError } from '../core/errors';

/**
 * The body of a bill download, read in two phases. First its opening bytes, within the exchange's
 * timeout like any answer (they tell a bill from an error answer). Then the rest, streamed for as
 * long as it takes: only each wait for the network is bounded (the client's timeout, or what is left
 * of the caller's deadline), never the whole, and never the time the consumer spends between reads.
 */
export class BillResponseBody {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #transport: Transport;
  readonly #what: string;
  #head: Uint8Array[] = [];
  #headBytes = 0;
  #ended = false;

  constructor(response: Response, transport: Transport, what: string) {
    this.#reader = response.body?.getReader();
    this.#ended = this.#reader === undefined;
    this.#transport = transport;
    this.#what = what;
  }

  /**
   * At least `n` bytes (fewer only when the body is shorter), read under the caller's timer:
   * failures are left as they come, for the exchange to classify (its timeout aborts this read).
   */
  async head(n: number): Promise<Uint8Array> {
    while (!this.#ended && this.#headBytes < n && this.#reader !== undefined) {
      const { done, value } = await this.#reader.read();
      if (done) this.#ended = true;
      else {
        this.#head.push(value);
        this.#headBytes += value.byteLength;
      }
    }
    const head = Buffer.concat(this.#head);
    this.#head = [head];
    return head;
  }

  /**
   * The whole body, or undefined as soon as it proves larger than `maxBytes` (the rest is not read),
   * under the caller's timer like head(): for an error answer, which is small.
   */
  async all(maxBytes: number): Promise<Buffer | undefined> {
    await this.head(maxBytes + 1);
    if (this.#headBytes > maxBytes) {
      await this.cancel();
      return undefined;
    }
    return Buffer.concat(this.#head);
  }

  /** Lets the connection go. */
  async cancel(): Promise<void> {
    await this.#reader?.cancel().catch(() => undefined);
  }

  /**
   * The whole body, the bytes already read first. A read that fails is NETWORK, one that waits
   * longer than the client's timeout TIMEOUT, one that outlasts the caller's deadline
   * DEADLINE_EXCEEDED; all retryable (the download may be asked for again). Stopping early cancels
   * the rest.
   */
  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    const head = this.#head;
    this.#head = [];
    for (const chunk of head) if (chunk.byteLength > 0) yield chunk;
    const reader = this.#reader;
    if (reader === undefined || this.#ended) return;
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await this.#read(reader);
        if (done) {
          finished = true;
          return;
        }
        yield value;
      }
    } finally {
      if (!finished) await reader.cancel().catch(() => undefined);
    }
  }

  async #read(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
    const left = timeLeftMs(this.#transport);
    if (left <= 0) throw deadlineError(this.#what);
    const byDeadline = left < this.#transport.timeoutMs;
    const waitMs = byDeadline ? Math.floor(left) : this.#transport.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    try {
      const result = await Promise.race([reader.read(), timedOut]);
      if (result !== 'timeout') return result;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new WechatPayError('NETWORK', `${this.#what}: the bill download broke off: ${reason}`, {
        retryable: true,
        kind: 'transport',
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    if (byDeadline) throw deadlineError(this.#what);
    throw new WechatPayError('TIMEOUT', `${this.#what}: no bill bytes from WeChat Pay within ${waitMs} ms`, {
      retryable: true,
      kind: 'transport',
    });
  }
}
