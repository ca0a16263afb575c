import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  DUE_INDEX,
  EVENTS_INDEX,
  PARTITION_KEY,
  SETTLED_INDEX,
  SORT_KEY,
  TABLE_STREAM_VIEW,
  TTL_ATTRIBUTE,
} from '#shared/adapters/table-schema';

/**
 * The item-level actions a handler may be given on the orders table. A TransactWriteItems call is
 * authorised item by item: its Put, Update and ConditionCheck entries need PutItem, UpdateItem and
 * ConditionCheckItem (there is no TransactWriteItems action), so the refund transactions (the refund
 * and its order's counters together) need nothing beyond what each entry does.
 */
export type ItemAction =
  'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem' | 'dynamodb:ConditionCheckItem';

/**
 * Orders, their refunds, their audit trail and the raw notifications. Money lives here, so: point-in-time recovery
 * on, the table outlives the stack (RETAIN) and refuses DeleteTable (deletion protection). The
 * due-index holds only open orders that carry a next-check time, so the sweep finds overdue checks
 * with one query instead of a scan. The stream hands every item change, both images, to the event
 * relay (event-relay.ts), which derives the events to the app backend; the events-index holds the
 * event log's items by day, for GET /events; the settled-index holds, by Beijing day, the PAID orders
 * and SUCCESS refunds that day's WeChat trade bill must list (bill-reconciler.ts).
 */
export class OrdersTable extends Construct {
  public readonly table: Table;
  public readonly dueIndexName: string = DUE_INDEX.name;
  public readonly eventsIndexName: string = EVENTS_INDEX.name;
  public readonly settledIndexName: string = SETTLED_INDEX.name;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy: RemovalPolicy.RETAIN,
      // RETAIN covers the stack's deletion; this covers a DeleteTable by hand or by another tool.
      deletionProtection: true,
      // Never switched off once on: a re-enabled stream is a new stream (new ARN), and the records of
      // the old one that the relay had not read yet would be lost with it.
      stream: StreamViewType[TABLE_STREAM_VIEW],
    });
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX.name,
      partitionKey: { name: DUE_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: DUE_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType[DUE_INDEX.projection],
    });
    this.table.addGlobalSecondaryIndex({
      indexName: EVENTS_INDEX.name,
      partitionKey: { name: EVENTS_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: EVENTS_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType[EVENTS_INDEX.projection],
    });
    // No sort key: a day's shard is read whole. The amount and WeChat's id are projected, so the
    // reconciliation compares from the index alone, without a read of each order.
    this.table.addGlobalSecondaryIndex({
      indexName: SETTLED_INDEX.name,
      partitionKey: { name: SETTLED_INDEX.partitionKey, type: AttributeType.STRING },
      projectionType: ProjectionType[SETTLED_INDEX.projection],
      nonKeyAttributes: [...SETTLED_INDEX.nonKeyAttributes],
    });
  }

  /** The stream's ARN; the table is created with one, so it is always defined. */
  get streamArn(): string {
    const arn = this.table.tableStreamArn;
    if (arn === undefined) throw new Error('the orders table has no stream');
    return arn;
  }

  /** Exactly these actions, on the table's items only (not its indexes). */
  grantItems(grantee: IGrantable, ...actions: ItemAction[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [this.table.tableArn] }));
  }

  /**
   * dynamodb:Query on the table itself (not its indexes): one order's partition, e.g. its refunds,
   * which the store reads as one Query of ORDER#<out_trade_no>.
   */
  grantQueryPartitions(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.table.tableArn] }),
    );
  }

  /** dynamodb:Query on the due-index only: the index ARN, not the table's. */
  grantQueryDueIndex(grantee: IGrantable): void {
    this.grantQueryIndex(grantee, DUE_INDEX.name);
  }

  /** dynamodb:Query on the events-index only (GET /events reads the log from it alone). */
  grantQueryEventsIndex(grantee: IGrantable): void {
    this.grantQueryIndex(grantee, EVENTS_INDEX.name);
  }

  /** dynamodb:Query on the settled-index only (a day's PAID orders and SUCCESS refunds). */
  grantQuerySettledIndex(grantee: IGrantable): void {
    this.grantQueryIndex(grantee, SETTLED_INDEX.name);
  }

  /**
   * What a Lambda event source mapping needs to read the stream, on this table's stream only. Not
   * Table.grantStreamRead (which DynamoEventSource calls): it adds dynamodb:ListStreams on "*", and
   * DynamoDB's own example policy for a stream-reading Lambda scopes that action to the stream too.
   */
  grantStreamRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
        ],
        resources: [this.streamArn],
      }),
    );
  }

  private grantQueryIndex(grantee: IGrantable, indexName: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${this.table.tableArn}/index/${indexName}`] }),
    );
  }
}
