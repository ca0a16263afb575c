import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';

import { describeFunctionError, invoke, type LocalFunction } from './lambda-context';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  function: LocalFunction;
  /** Messages per invocation, 1–10 (Lambda's default for standard queues is 10). */
  batchSize?: number;
  /** Long-poll wait; short, so a stop never waits long for an empty receive. */
  waitTimeSeconds?: number;
  log?: (line: string) => void;
}

export interface SqsEventSource {
  /** Stops polling, lets the batch in hand finish (and be deleted), then resolves. */
  stop(): Promise<void>;
}

/** What became of one batch, for logs and tests. */
export interface BatchOutcome {
  received: number;
  deleted: number;
  /** Left on the queue: they come back after the visibility timeout, or go to the DLQ. */
  failed: number;
}

function toRecordAttributes(attributes: Message['Attributes']): SQSRecordAttributes {
  const a = attributes ?? {};
  const record: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const name of [
    'AWSTraceHeader',
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'DeadLetterQueueSourceArn',
  ] as const) {
    const value = a[name];
    if (value !== undefined) record[name] = value;
  }
  return record;
}

/** SQS's API names message attributes in PascalCase with raw bytes; Lambda's event in camelCase with base64. */
function toRecordMessageAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    };
  }
  return out;
}

function regionOf(queueArn: string): string {
  return queueArn.split(':')[3] ?? 'us-east-1';
}

/** The event Lambda's SQS event source builds from one ReceiveMessage answer. */
export function toSqsEvent(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m): SQSRecord => {
      const record: SQSRecord = {
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: toRecordAttributes(m.Attributes),
        messageAttributes: toRecordMessageAttributes(m.MessageAttributes),
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: regionOf(queueArn),
      };
      if (m.MD5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = m.MD5OfMessageAttributes;
      return record;
    }),
  };
}

/**
 * Which messages failed, by Lambda's rules for ReportBatchItemFailures: a response naming an id
 * that is empty or not in the batch fails the whole batch; no response (or an empty list) is full
 * success.
 */
export function failedMessageIds(event: SQSEvent, response: unknown): Set<string> {
  const all = new Set(event.Records.map((r) => r.messageId));
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || !('batchItemFailures' in response)) return new Set();
  const failures = (response as { batchItemFailures: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const failed = new Set<string>();
  for (const item of failures) {
    const id =
      typeof item === 'object' && item !== null ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

/**
 * Feeds a queue to a handler the way Lambda's SQS event source mapping does (with
 * ReportBatchItemFailures on): receive up to a batch, invoke, delete what succeeded, and leave the
 * failures to reappear after the visibility timeout. Redrive to the DLQ is the queue's own policy.
 */
export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  const batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10));
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const log = options.log ?? ((line: string) => console.log(line));
  const abort = new AbortController();
  let stopped = false;

  async function processBatch(messages: Message[]): Promise<BatchOutcome> {
    const event = toSqsEvent(messages, options.queueArn);
    const outcome = await invoke(options.function, options.handler, event);
    let failed: Set<string>;
    if (outcome.ok) {
      failed = failedMessageIds(event, outcome.result);
    } else {
      log(describeFunctionError(options.function, outcome));
      failed = new Set(event.Records.map((r) => r.messageId));
    }
    const done = event.Records.filter((r) => !failed.has(r.messageId));
    let deleted = 0;
    if (done.length > 0) {
      // Not aborted by stop: a batch that succeeded must be deleted, or it would run twice.
      const result = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
      deleted = result.Successful?.length ?? 0;
      for (const f of result.Failed ?? [])
        log(`sqs event source: could not delete a message: ${f.Code} ${f.Message ?? ''}`);
    }
    return { received: messages.length, deleted, failed: failed.size };
  }

  async function pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let messages: Message[];
      try {
        const answer = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (stopped) return;
        log(`sqs event source: receive failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
        await pause(1_000);
        continue;
      }
      if (messages.length === 0) continue;
      try {
        const outcome = await processBatch(messages);
        if (outcome.failed > 0) {
          log(
            `[${options.function.functionName}] batch of ${outcome.received}: ` +
              `${outcome.deleted} done, ${outcome.failed} left for retry`,
          );
        }
      } catch (error) {
        log(`sqs event source: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  const running = loop();
  return {
    async stop() {
      stopped = true;
      abort.abort();
      await running;
    },
  };
}
