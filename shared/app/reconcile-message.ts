import * as z from 'zod';

import { ValidationError } from '../domain/errors';
import type { ReconcileCheck } from '../domain/ports';
import { outTradeNoSchema } from '../wechatpay/core/trade-ids';

const ReconcileCheckSchema = z.strictObject({
  outTradeNo: outTradeNoSchema,
  attempt: z.number().int().min(0).max(10_000),
  dueAt: z.iso.datetime(),
});

/** A malformed message throws, so SQS redelivers it and finally moves it to the DLQ, where it is alarmed. */
export function parseReconcileCheck(body: string): ReconcileCheck {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('reconcile message is not JSON');
  }
  const parsed = ReconcileCheckSchema.safeParse(value);
  if (!parsed.success)
    throw new ValidationError(`reconcile message is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}
