import type { _Record, AttributeValue as StreamsAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent, StreamRecord } from 'aws-lambda';

/**
 * The event Lambda's DynamoDB event source builds from one GetRecords answer. The Streams API (through
 * the SDK) gives binary values as bytes and times as Dates; Lambda's JSON gives base64 strings and
 * epoch seconds, and adds the stream's ARN to each record.
 */
export function toDynamoDbStreamEvent(
  records: readonly _Record[],
  streamArn: string,
  region: string,
): DynamoDBStreamEvent {
  return { Records: records.map((record) => toDynamoDbRecord(record, streamArn, region)) };
}

/**
 * `region` is the stack's: DynamoDB Local names its own region (`ddblocal`) in records and ARNs, where
 * in AWS the table and the function share one.
 */
export function toDynamoDbRecord(record: _Record, streamArn: string, region: string): DynamoDBRecord {
  const out: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
  };
  if (record.dynamodb !== undefined) out.dynamodb = toStreamRecord(record.dynamodb);
  // Copied as Lambda delivers it (a deletion by TTL names the DynamoDB service here).
  if (record.userIdentity !== undefined) {
    out.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  }
  return out;
}

function toStreamRecord(source: NonNullable<_Record['dynamodb']>): StreamRecord {
  const out: StreamRecord = {};
  if (source.ApproximateCreationDateTime !== undefined)
    out.ApproximateCreationDateTime = Math.floor(source.ApproximateCreationDateTime.getTime() / 1000);
  if (source.Keys !== undefined) out.Keys = toImage(source.Keys);
  if (source.NewImage !== undefined) out.NewImage = toImage(source.NewImage);
  if (source.OldImage !== undefined) out.OldImage = toImage(source.OldImage);
  if (source.SequenceNumber !== undefined) out.SequenceNumber = source.SequenceNumber;
  if (source.SizeBytes !== undefined) out.SizeBytes = source.SizeBytes;
  if (source.StreamViewType !== undefined) out.StreamViewType = source.StreamViewType;
  return out;
}

function toImage(image: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toAttributeValue(value)]));
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** One attribute value in Lambda's JSON form: binaries as base64 text, everything else as it is. */
export function toAttributeValue(value: StreamsAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toAttributeValue) };
  if (value.M !== undefined) return { M: toImage(value.M) };
  throw new Error(`a stream record holds an attribute value of an unknown type (${Object.keys(value).join(', ')})`);
}
