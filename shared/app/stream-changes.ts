import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';

import { changeFromStreamRecord } from '../adapters/dynamodb-stream-changes';
import type { AggregateChange, DomainEvent } from '../domain/events';
import { beforeInvocationEnds, DECISION_MARGIN_MS, invocationEnd } from './invocation-deadline';

export interface StreamChangesDeps {
  recorder: { record(change: AggregateChange): Promise<DomainEvent | undefined> };
  /** Told of the record that stopped the batch; never given the item's images. */
  onFailure(detail: { sequenceNumber: string | undefined; eventName: string | undefined; error: string }): void;
  /** Told when the invocation's end stops the batch before this record: no fault, the rest comes again. */
  onCutShort(detail: { sequenceNumber: string | undefined; done: number; left: number }): void;
}

/**
 * Records the events of a batch of the table's stream, one record after the other, in the stream's
 * order. At the first failure it stops and names that record as the batch item failure: the event
 * source mapping retries from it, so the changes of an item are never recorded out of order and none
 * after a failed one is skipped. Records already handled are handed over again on that retry; their
 * events keep their ids and the log keeps each once.
 *
 * It also stops DECISION_MARGIN_MS before the invocation ends (withInvocationDeadline), naming the next
 * record not done: an invocation that timed out would report nothing, and the whole batch would be
 * read again from its start, each time as slow, possibly for as long as the records live. Stopping
 * in time keeps what was done, and the next invocation goes on from there.
 */
export async function recordStreamChanges(
  records: readonly DynamoDBRecord[],
  deps: StreamChangesDeps,
): Promise<DynamoDBBatchResponse> {
  for (const [index, record] of records.entries()) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (invocationEnding()) {
      deps.onCutShort({ sequenceNumber, done: index, left: records.length - index });
      return failedAt(sequenceNumber);
    }
    try {
      const change = changeFromStreamRecord(record);
      // A record still in hand at the cut-off is named too; if its event was recorded after all, the
      // retry finds it in the log by its id.
      if (change !== undefined) await beforeInvocationEnds(() => deps.recorder.record(change));
    } catch (error) {
      deps.onFailure({
        sequenceNumber,
        eventName: record.eventName,
        error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown failure',
      });
      return failedAt(sequenceNumber);
    }
  }
  return { batchItemFailures: [] };
}

/** Whether the invocation (if there is one) is within DECISION_MARGIN_MS of its end. */
function invocationEnding(): boolean {
  const end = invocationEnd();
  return end !== undefined && Date.now() >= end - DECISION_MARGIN_MS;
}

function failedAt(sequenceNumber: string | undefined): DynamoDBBatchResponse {
  // A record without a sequence number cannot be named: an empty identifier fails the whole batch,
  // which is retried from its start, still in order.
  return { batchItemFailures: [{ itemIdentifier: sequenceNumber ?? '' }] };
}
