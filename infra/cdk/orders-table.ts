import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

// The names the DynamoDB order store uses; the table and the store must agree on them.
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  dueIndex: 'due-index',
  dueIndexPartitionKey: 'dueKey',
  dueIndexSortKey: 'nextCheckAt',
} as const;

/** The item-level actions a handler may be given on the orders table. */
export type ItemAction = 'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem';

/**
 * Orders, their audit trail and the raw notifications. Money lives here, so: point-in-time recovery
 * on, and the table outlives the stack (RETAIN). The due-index holds only open orders that carry a
 * next-check time, so the sweep finds overdue checks with one query instead of a scan.
 */
export class OrdersTable extends Construct {
  public readonly table: Table;
  public readonly dueIndexName: string = TABLE_KEYS.dueIndex;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.dueIndex,
      partitionKey: { name: TABLE_KEYS.dueIndexPartitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.dueIndexSortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }

  /** Exactly these actions, on the table's items only (not its indexes). */
  grantItems(grantee: IGrantable, ...actions: ItemAction[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [this.table.tableArn] }));
  }

  /** dynamodb:Query on the due-index only: the index ARN, not the table's. */
  grantQueryDueIndex(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${this.table.tableArn}/index/${TABLE_KEYS.dueIndex}`] }),
    );
  }
}
