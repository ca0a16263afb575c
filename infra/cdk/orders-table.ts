import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DUE_INDEX, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '#shared/adapters/table-schema';

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
 * with one query instead of a scan.
 */
export class OrdersTable extends Construct {
  public readonly table: Table;
  public readonly dueIndexName: string = DUE_INDEX.name;

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
    });
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX.name,
      partitionKey: { name: DUE_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: DUE_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType[DUE_INDEX.projection],
    });
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
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${DUE_INDEX.name}`],
      }),
    );
  }
}
