import type { Logger } from '@aws-lambda-powertools/logger';
import type { ScheduledEvent } from 'aws-lambda';
import * as z from 'zod';

import type { BillDate } from '../domain/bill-reconciliation';
import { billFinalAt, previousBillDate } from '../domain/bill-date';
import { BillNotReadyError } from '../domain/errors';
import type { Reconciliations } from './reconciliation-runs';

/** What EventBridge hands a rule's target: only the fields the run reads are checked. */
const ScheduledEventSchema = z.object({
  'detail-type': z.literal('Scheduled Event'),
  /** When the rule fired (UTC): the day before it, in Beijing, is the bill to reconcile. */
  time: z.iso.datetime({ offset: true }),
});

/** Whether an invocation is the schedule's (rather than an HTTP request); its fields are checked when run. */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  return typeof event === 'object' && event !== null && 'detail-type' in event;
}

/** What one scheduled run did: the Lambda's result, visible in the invocation's record. */
export type ScheduledRunOutcome =
  | { billDate: BillDate; outcome: 'reconciled'; status: 'MATCHED' | 'DISCREPANCIES'; discrepancies: number }
  | { billDate: BillDate; outcome: 'already_reconciled'; reconciledAt: string }
  | { billDate: BillDate; outcome: 'not_ready'; retryAfterSeconds: number };

/**
 * The daily run: the bill of the Beijing day before the rule fired. The rule fires three times a
 * morning (10:30, 11:30, 12:30 Beijing); a day with a report made once its bill was final (billFinalAt)
 * is left alone, so only the first run that finds the bill ready reconciles it, and a day WeChat had not
 * finished is tried again by the next. A report made earlier (a POST for the day before WeChat had
 * finished its bill, which may have found no bill at all) does not settle the day: it is run again.
 * A bill not ready is a warning (and BillNotReady), not a failure; anything else is thrown, so the
 * invocation fails and the function's error alarm fires.
 */
export async function runScheduledReconciliation(
  event: unknown,
  { reconciliations, logger }: { reconciliations: Reconciliations; logger: Logger },
): Promise<ScheduledRunOutcome> {
  const parsed = ScheduledEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new Error(`not an EventBridge scheduled event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  const billDate = previousBillDate(new Date(parsed.data.time));
  const stored = await reconciliations.get(billDate);
  if (stored !== undefined && Date.parse(stored.reconciledAt) >= billFinalAt(billDate).getTime()) {
    logger.info('bill already reconciled; nothing to do', { billDate, reconciledAt: stored.reconciledAt });
    return { billDate, outcome: 'already_reconciled', reconciledAt: stored.reconciledAt };
  }
  try {
    const report = await reconciliations.run(billDate);
    return { billDate, outcome: 'reconciled', status: report.status, discrepancies: report.counts.discrepancies };
  } catch (error) {
    if (!(error instanceof BillNotReadyError)) {
      logger.error('scheduled bill reconciliation failed; the next scheduled run tries again', {
        billDate,
        error: error as Error,
      });
      throw error;
    }
    logger.warn('bill not ready at WeChat yet; the next scheduled run asks again', {
      billDate,
      retryAfterSeconds: error.retryAfterSeconds,
    });
    return { billDate, outcome: 'not_ready', retryAfterSeconds: error.retryAfterSeconds };
  }
}
