import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';

import { isBillDate } from '../domain/bill-date';
import { DISCREPANCY_KINDS } from '../domain/bill-reconciliation';
import type { BillDate, ReconciliationReport, ReconciliationStore } from '../domain/bill-reconciliation';
import { expiry, plainData } from './dynamodb-order-item';
import { reconciliationKey, RECONCILIATION_TTL_DAYS, TTL_ATTRIBUTE } from './table-schema';

export interface DynamoDbReconciliationStoreOptions {
  tableName: string;
  client: DynamoDBDocumentClient;
}

/** Where the report is kept on its item (a map: see table-schema.ts). */
const REPORT_ATTRIBUTE = 'report';

const side = z.object({
  status: z.string(),
  amount: z.number().int(),
  transactionId: z.string().optional(),
  refundId: z.string().optional(),
});

/** A stored report, read back strictly: a malformed one is an error, not a report. */
const storedReport = z.object({
  billDate: z.string().refine(isBillDate, 'not a bill date (YYYY-MM-DD)'),
  status: z.enum(['MATCHED', 'DISCREPANCIES']),
  counts: z.object({
    wechat: z.number().int().nonnegative(),
    here: z.number().int().nonnegative(),
    matched: z.number().int().nonnegative(),
    discrepancies: z.number().int().nonnegative(),
  }),
  discrepancies: z.array(
    z.object({
      kind: z.enum(DISCREPANCY_KINDS),
      outTradeNo: z.string(),
      outRefundNo: z.string().optional(),
      wechat: side.optional(),
      here: side.optional(),
      repaired: z.literal(true).optional(),
    }),
  ),
  billFound: z.boolean(),
  apiVersion: z.enum(['v2', 'v3']),
  reconciledAt: z.string(),
});

/**
 * Each bill date's latest reconciliation report, one item per day (see table-schema.ts), expiring
 * RECONCILIATION_TTL_DAYS after the run. A run of the day again replaces it: the last run wins, as it
 * reflects the repairs made since. Errors propagate as the SDK raised them.
 */
export class DynamoDbReconciliationStore implements ReconciliationStore {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;

  constructor(options: DynamoDbReconciliationStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
  }

  async save(report: ReconciliationReport): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...reconciliationKey(report.billDate),
          billDate: report.billDate,
          [REPORT_ATTRIBUTE]: plainData(report),
          [TTL_ATTRIBUTE]: expiry(report.reconciledAt, RECONCILIATION_TTL_DAYS),
        },
      }),
    );
  }

  async get(billDate: BillDate): Promise<ReconciliationReport | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: reconciliationKey(billDate), ConsistentRead: true }),
    );
    if (!item) return undefined;
    return storedReport.parse(item[REPORT_ATTRIBUTE]);
  }
}
