import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';

import { changeFromStreamRecord } from '../adapters/dynamodb-stream-changes';
import type { AggregateChange, DomainEvent } from '../domain/events';

export interface StreamChangesDeps {
  recorder: { record(change: AggregateChange): Promise<DomainEvent | undefined> };
  /** Told of the record that stopped the batch; never given the item's images. */
  onFailure(detail: { sequenceNumber: string | undefined; eventName: string | undefined; error: string }): void;
}

/**
 * Records the events of a batch of the table's stream, one record after the other, in the stream's
 * order. At the first failure it stops and names that record as the batch item failure: the event
 * source mapping retries from it, so the changes of an item are never recorded out of order and none
 * after a failed one is skipped. Records already handled are handed over again on that retry; their
 * events keep their ids and the log keeps each once.
 */
export async function recordStreamChanges(
  records: readonly DynamoDBRecord[],
  deps: StreamChangesDeps,
): Promise<DynamoDBBatchResponse> {
  for (const record of records) {
    try {
      const change = changeFromStreamRecord(record);
      if (change !== undefined) await deps.recorder.record(change);
    } catch (error) {
      const sequenceNumber = record.dynamodb?.SequenceNumber;
      deps.onFailure({
        sequenceNumber,
        eventName: record.eventName,
        error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown failure',
      });
      // A record without a sequence number cannot be named: an empty identifier fails the whole batch,
      // which is retried from its start, still in order.
      return { batchItemFailures: [{ itemIdentifier: sequenceNumber ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
}
