import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type {
  AttributeValue as StreamsAttributeValue,
  _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { localEndpoint } from '#test/helpers/aws';

/**
 * Reads a table's stream on DynamoDB Local, as the Lambda event source mapping would, and hands the
 * records over in the shape the events Lambda receives them (aws-lambda's DynamoDBRecord).
 */
export class TableStreamReader {
  private readonly streams: DynamoDBStreamsClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    // DynamoDB Local serves the Streams API on the tables' endpoint; dummy credentials, as for the tables.
    this.streams = new DynamoDBStreamsClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      endpoint: localEndpoint('dynamodbEndpoint'),
    });
  }

  /** Every record in the stream so far, shard after shard (parents first), each shard in its order. */
  async records(): Promise<DynamoDBRecord[]> {
    const { Table: table } = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
    const streamArn = table?.LatestStreamArn;
    if (streamArn === undefined) throw new Error(`table ${this.tableName} has no stream`);
    const { StreamDescription: stream } = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const records: DynamoDBRecord[] = [];
    for (const shard of stream?.Shards ?? []) {
      let { ShardIterator: iterator } = await this.streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      // An open shard hands out a next iterator for ever: an empty page means it is read to its end.
      while (iterator !== undefined) {
        const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        const batch = page.Records ?? [];
        records.push(...batch.map(lambdaRecord));
        iterator = batch.length === 0 ? undefined : page.NextShardIterator;
      }
    }
    return records;
  }

  /** The records of one partition (an order's, say), in the stream's order. */
  async recordsOf(pk: string): Promise<DynamoDBRecord[]> {
    return (await this.records()).filter((record) => record.dynamodb?.Keys?.pk?.S === pk);
  }
}

/** A record as GetRecords gives it, in the shape Lambda delivers it (epoch seconds, base64 binaries). */
function lambdaRecord(record: StreamsRecord): DynamoDBRecord {
  const data = record.dynamodb;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    dynamodb: data && {
      ApproximateCreationDateTime:
        data.ApproximateCreationDateTime && data.ApproximateCreationDateTime.getTime() / 1000,
      Keys: data.Keys && lambdaImage(data.Keys),
      NewImage: data.NewImage && lambdaImage(data.NewImage),
      OldImage: data.OldImage && lambdaImage(data.OldImage),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
  };
}

function lambdaImage(image: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaValue(value)]));
}

function lambdaValue(value: StreamsAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(lambdaValue) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  throw new Error(`an attribute value of an unknown type: ${Object.keys(value).join(',')}`);
}
