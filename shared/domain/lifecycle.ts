import type { Order, OrderStatus } from './order';
import type { TransitionCommand, TransitionResult } from './ports';

/**
 * The order state machine (README.md, "The API"): CREATED → PENDING → PAID | CLOSED | FAILED.
 * A CREATED order can go straight to a final state because WeChat may hold a prepay we never stored
 * (the store failed after unifiedorder answered). FAILED is an outcome, not an end: WeChat can report
 * PAYERROR and later SUCCESS for the same out_trade_no when the payer tries again (money wins), so a
 * failed order stays watched until it expires and is closed like any unpaid one.
 */
const ALLOWED: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  CREATED: ['PENDING', 'PAID', 'CLOSED', 'FAILED'],
  PENDING: ['PAID', 'CLOSED', 'FAILED'],
  FAILED: ['PAID', 'CLOSED'],
  PAID: [],
  CLOSED: [],
};

/** Whether WeChat may still move the order: such an order stays in the due index and is reconciled. */
export function canStillChange(status: OrderStatus): boolean {
  return ALLOWED[status].length > 0;
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The states from which `to` may be entered: the condition of the conditional write. */
export function sourcesOf(to: OrderStatus): OrderStatus[] {
  return (Object.keys(ALLOWED) as OrderStatus[]).filter((from) => ALLOWED[from].includes(to));
}

/**
 * How a requested transition relates to the current state.
 * - apply: allowed, write it.
 * - already: the order is already in the target state; a duplicate, reported as success.
 * - conflict: the order is in a state from which the target cannot be reached.
 */
export type TransitionPlan = 'apply' | 'already' | 'conflict';

export function planTransition(current: OrderStatus, to: OrderStatus): TransitionPlan {
  if (current === to) return 'already';
  return canTransition(current, to) ? 'apply' : 'conflict';
}

/** The states in which the payer may (still) pay, so a lapsed prepay may be renewed. */
export const AWAITING_PAYMENT: readonly OrderStatus[] = ['PENDING', 'FAILED'];

/**
 * Why a transition was not applied, told from the order as it is now: every store reads a refused
 * conditional write the same way.
 */
export function refusalOf(command: TransitionCommand, current: Order | undefined): TransitionResult {
  if (!current) return { kind: 'not_found' };
  const asked = current.request.amount;
  if (
    command.expectAmount &&
    (asked.total !== command.expectAmount.total || asked.currency !== command.expectAmount.currency)
  ) {
    return { kind: 'amount_mismatch', order: current };
  }
  return planTransition(current.status, command.to) === 'already'
    ? { kind: 'already', order: current }
    : { kind: 'conflict', order: current };
}
