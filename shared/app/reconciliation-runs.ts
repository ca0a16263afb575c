import { MetricUnit } from '@aws-lambda-powertools/metrics';

import { METRIC_BILL_DISCREPANCIES, METRIC_BILL_NOT_READY } from '../config/metric-names';
import type { BillDate, ReconciliationReport, ReconciliationStore } from '../domain/bill-reconciliation';
import { BillNotReadyError } from '../domain/errors';
import type { ReconcileBill } from '../domain/reconcile-bill';
import type { Observability } from './observability';

/** What the bills function does with a day: reconcile it now, or read its stored report. */
export interface Reconciliations {
  /** Throws BillNotReadyError, BillRefusedError, ProviderError as ReconcileBill.run does. */
  run(billDate: BillDate): Promise<ReconciliationReport>;
  get(billDate: BillDate): Promise<ReconciliationReport | undefined>;
}

/**
 * Reconciliations counted for the alarms: every run that produced a report adds its discrepancies to
 * BillDiscrepancies (0 too, so the metric shows the runs), every bill not ready yet one BillNotReady.
 * Whoever ran it (the API, the schedule) decides what a failure means; this only counts and logs.
 */
export function observedReconciliations(
  reconcileBill: () => Promise<Pick<ReconcileBill, 'run'>>,
  reports: () => Promise<Pick<ReconciliationStore, 'get'>>,
  { logger, metrics }: Pick<Observability, 'logger' | 'metrics'>,
): Reconciliations {
  return {
    async run(billDate) {
      let report: ReconciliationReport;
      try {
        report = await (await reconcileBill()).run(billDate);
      } catch (error) {
        if (error instanceof BillNotReadyError) metrics.addMetric(METRIC_BILL_NOT_READY, MetricUnit.Count, 1);
        throw error;
      }
      metrics.addMetric(METRIC_BILL_DISCREPANCIES, MetricUnit.Count, report.counts.discrepancies);
      const summary = { billDate, status: report.status, billFound: report.billFound, ...report.counts };
      if (report.status === 'MATCHED') logger.info('bill reconciled: matched', summary);
      else logger.warn('bill reconciled: discrepancies (see the stored report)', summary);
      return report;
    },
    get: async (billDate) => (await reports()).get(billDate),
  };
}
