import * as z from 'zod';

import { ValidationError } from '../domain/errors';
import type { ReconcileCheck } from '../domain/ports';
import type { RefundCheck } from '../domain/refund-ports';
import { outRefundNoSchema, outTradeNoSchema } from '../wechatpay/core/trade-ids';

const attempt = z.number().int().min(0).max(10_000);

/**
 * A payment check: no `kind`, as every message was before refunds (some may still be on the queue);
 * no `bound` on those sent before watch bounds.
 */
const PaymentCheckSchema = z.strictObject({
  outTradeNo: outTradeNoSchema,
  attempt,
  dueAt: z.iso.datetime(),
  bound: z.iso.datetime().optional(),
});

const RefundCheckSchema = z.strictObject({
  kind: z.literal('refund'),
  outTradeNo: outTradeNoSchema,
  outRefundNo: outRefundNoSchema,
  attempt,
  dueAt: z.iso.datetime(),
});

/** One message of the reconcile queue (written by shared/adapters/sqs-check-scheduler.ts). */
export type ReconcileMessage = { kind: 'payment'; check: ReconcileCheck } | { kind: 'refund'; check: RefundCheck };

/** A malformed message throws, so SQS redelivers it and finally moves it to the DLQ, where it is alarmed. */
export function parseReconcileMessage(body: string): ReconcileMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('reconcile message is not JSON');
  }
  const isRefund = typeof value === 'object' && value !== null && 'kind' in value;
  if (isRefund) {
    const parsed = RefundCheckSchema.safeParse(value);
    if (!parsed.success) throw invalid(parsed.error);
    const { kind: _kind, ...check } = parsed.data;
    return { kind: 'refund', check };
  }
  const parsed = PaymentCheckSchema.safeParse(value);
  if (!parsed.success) throw invalid(parsed.error);
  const { bound, ...check } = parsed.data;
  return { kind: 'payment', check: bound === undefined ? check : { ...check, bound } };
}

/** A payment check only (what the queue held before refunds); a refund check is refused. */
export function parseReconcileCheck(body: string): ReconcileCheck {
  const message = parseReconcileMessage(body);
  if (message.kind !== 'payment') throw new ValidationError('reconcile message is a refund check, not a payment check');
  return message.check;
}

function invalid(error: z.ZodError): ValidationError {
  const issue = error.issues[0];
  const where = issue?.path.join('.') ?? '';
  return new ValidationError(`reconcile message is invalid: ${where ? `${where} ` : ''}${issue?.message ?? ''}`);
}
