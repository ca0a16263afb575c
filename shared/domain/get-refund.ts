import { NotFoundError } from './errors';
import type { Source } from './order';
import type { Refund } from './refund';
import { refundCanStillChange } from './refund-lifecycle';
import type { RefundProvider, RefundStore } from './refund-ports';
import type { RefundReports } from './refund-reports';

export interface GetRefundDeps {
  refunds: RefundStore;
  provider: RefundProvider;
  reports: RefundReports;
}

/**
 * One refund of an order; with `sync`, WeChat is asked first while the refund can still change, and
 * its answer applied as `source` says who asked (the merchant's query, or the bill reconciliation).
 */
export class GetRefund {
  constructor(private readonly deps: GetRefundDeps) {}

  async execute(
    outTradeNo: string,
    outRefundNo: string,
    options: { sync?: boolean; source?: Source } = {},
  ): Promise<Refund> {
    const { refunds, provider, reports } = this.deps;
    const refund = await refunds.getRefund(outTradeNo, outRefundNo);
    if (refund === undefined) {
      throw new NotFoundError(`no refund ${outRefundNo} of order ${outTradeNo}`);
    }
    if (!options.sync || !refundCanStillChange(refund.status)) return refund;
    // A refund WeChat does not know yet is left to the reconciler, which sends it again: a read does not.
    const outcome = await reports.apply(
      await provider.queryRefund(outTradeNo, outRefundNo),
      options.source ?? 'query',
      undefined,
      refund,
    );
    return outcome.refund ?? refund;
  }
}
