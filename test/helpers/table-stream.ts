import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { toDynamoDbRecord } from '#sandbox/local/dynamodb-stream-events';
import { localStreamsClient } from '#sandbox/local/resources';
import { localEndpoint } from '#test/helpers/aws';

/** The region the records name, as the local stack's clients use. */
const REGION = 'us-east-1';

/**
 * Reads a table's stream on DynamoDB Local, as the Lambda event source mapping would, and hands the
 * records over in the shape the events Lambda receives them (aws-lambda's DynamoDBRecord), built as
 * the local stack's stream source builds them.
 */
export class TableStreamReader {
  private readonly streams: DynamoDBStreamsClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    // DynamoDB Local serves the Streams API on the tables' endpoint.
    this.streams = localStreamsClient(localEndpoint('dynamodbEndpoint'));
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
        records.push(...batch.map((record) => toDynamoDbRecord(record, streamArn, REGION)));
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
