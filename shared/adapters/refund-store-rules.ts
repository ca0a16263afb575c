import { planRefundTransition } from '../domain/refund-lifecycle';
import type { Refund } from '../domain/refund';
import type { RefundTransitionCommand, RefundTransitionResult } from '../domain/refund-ports';

/**
 * Why a refund transition was not applied, told from the refund as it is now: the DynamoDB store and
 * the in-memory double read a refused conditional write the same way (as lifecycle.refusalOf does for
 * orders). An amount other than the one asked for is named first: nothing is written for it, whatever
 * the state.
 */
export function refundRefusalOf(command: RefundTransitionCommand, current: Refund | undefined): RefundTransitionResult {
  if (!current) return { kind: 'not_found' };
  if (command.expectAmount && !sameRefundAmount(current, command.expectAmount)) {
    return { kind: 'amount_mismatch', refund: current };
  }
  // A refund WeChat has accepted, refused by expectUnaccepted, is a conflict too: it would otherwise apply.
  return planRefundTransition(current.status, command.to) === 'already'
    ? { kind: 'already', refund: current }
    : { kind: 'conflict', refund: current };
}

/**
 * Whether the refund is what the command expects of it (beyond its status): the amount asked for, and
 * for expectUnaccepted, no acceptance by WeChat recorded (a refund WeChat took is never closed for a
 * refusal of a resend: WeChat may be paying it out).
 */
export function refundAgrees(command: RefundTransitionCommand, refund: Refund): boolean {
  if (command.expectAmount && !sameRefundAmount(refund, command.expectAmount)) return false;
  return !command.expectUnaccepted || refund.acceptedAt === undefined;
}

export function sameRefundAmount(refund: Refund, expected: { refund: number; total: number }): boolean {
  return refund.amount.refund === expected.refund && refund.amount.total === expected.total;
}

/**
 * What every store refuses to create, as a programming error rather than a result: a refund that is not
 * PROCESSING (a new refund has not been sent yet) or not a positive whole number of fen (a negative one
 * would raise what is left to refund).
 */
export function checkNewRefund(refund: Refund): void {
  if (refund.status !== 'PROCESSING') throw new Error(`a new refund is PROCESSING, not ${refund.status}`);
  if (!Number.isSafeInteger(refund.amount.refund) || refund.amount.refund <= 0) {
    throw new RangeError(`a refund is a positive whole number of fen: ${refund.amount.refund}`);
  }
}
