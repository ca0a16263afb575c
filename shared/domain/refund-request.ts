import { createHash } from 'node:crypto';

import { ValidationError } from './errors';
import type { RefundRequest } from './refund';

/** WeChat's out_refund_no: 1–64 of 0-9 A-Z a-z _ - | * @ (v2 and v3 alike). */
const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
/** WeChat takes at most 80 characters of the reason it shows the payer. */
const MAX_REASON_CHARS = 80;

/**
 * What the domain refuses to send WeChat whoever calls it. The API's schema says the same with more
 * care for the caller; this guard keeps a request that bypassed it from using up an out_refund_no.
 */
export function checkRefundRequest(request: RefundRequest): void {
  if (!OUT_REFUND_NO.test(request.outRefundNo)) {
    throw new ValidationError('out_refund_no must be 1–64 characters of 0-9 A-Z a-z _ - | * @', 'out_refund_no');
  }
  if (!Number.isSafeInteger(request.refund) || request.refund <= 0) {
    throw new ValidationError('amount.refund must be a positive integer number of fen', 'amount.refund');
  }
  if (request.reason !== undefined && [...request.reason].length > MAX_REASON_CHARS) {
    throw new ValidationError(`reason must be at most ${MAX_REASON_CHARS} characters`, 'reason');
  }
}

/**
 * A stable fingerprint of what was asked: the same out_refund_no with the same content is a retry
 * (the same refund), with any other content a conflict. The order is part of it: out_refund_no is
 * the merchant's, and reusing one for another order is not a retry.
 */
export function refundRequestHash(request: RefundRequest): string {
  const canonical = JSON.stringify([request.outTradeNo, request.outRefundNo, request.refund, request.reason ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}
