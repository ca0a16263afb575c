import type { RefundStatus } from './refund';

/**
 * The refund state machine: PROCESSING → SUCCESS | CLOSED | ABNORMAL; ABNORMAL → SUCCESS | CLOSED
 * (ABNORMAL is not final: WeChat reprocesses it once the merchant gives another account).
 */
const ALLOWED: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  PROCESSING: ['SUCCESS', 'CLOSED', 'ABNORMAL'],
  ABNORMAL: ['SUCCESS', 'CLOSED'],
  SUCCESS: [],
  CLOSED: [],
};

/** Whether WeChat may still move the refund: such a refund stays watched by the reconciler. */
export function refundCanStillChange(status: RefundStatus): boolean {
  return ALLOWED[status].length > 0;
}

/** The states from which `to` may be entered: the condition of the conditional write. */
export function refundSourcesOf(to: RefundStatus): RefundStatus[] {
  return (Object.keys(ALLOWED) as RefundStatus[]).filter((from) => ALLOWED[from].includes(to));
}

export type RefundTransitionPlan = 'apply' | 'already' | 'conflict';

export function planRefundTransition(current: RefundStatus, to: RefundStatus): RefundTransitionPlan {
  if (current === to) return 'already';
  return ALLOWED[current].includes(to) ? 'apply' : 'conflict';
}

/**
 * What a refund in `status` holds of the order's money: SUCCESS is refunded; PROCESSING and ABNORMAL
 * are pending (they may still succeed, so they count against what is left); CLOSED holds nothing.
 */
export function refundHolding(status: RefundStatus): 'refunded' | 'pending' | 'none' {
  if (status === 'SUCCESS') return 'refunded';
  if (status === 'CLOSED') return 'none';
  return 'pending';
}
