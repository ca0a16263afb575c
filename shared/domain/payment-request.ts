import { createHash, randomBytes } from 'node:crypto';

import type { Amount, H5Info, PaymentRequest, TradeType } from './order';

/** A payment as the merchant asked for it, before defaults are filled in. */
export interface NewPayment {
  outTradeNo?: string;
  description: string;
  amount: Amount;
  tradeType: TradeType;
  payerOpenid?: string;
  productId?: string;
  payerClientIp: string;
  h5Info?: H5Info;
  attach?: string;
  /** ISO 8601 instant; absent means the prepay_id's own life. */
  expiresAt?: string;
}

/**
 * A stable fingerprint of what was asked, keys in a fixed order. It is taken before defaults are
 * filled in, so a retry that again omits time_expire matches its first attempt.
 */
export function fingerprint(input: NewPayment & { outTradeNo: string }): string {
  const canonical = JSON.stringify(input, Object.keys(flatten(input)).sort());
  return createHash('sha256').update(canonical).digest('hex');
}

function flatten(value: object, into: Record<string, true> = {}): Record<string, true> {
  for (const [k, v] of Object.entries(value)) {
    into[k] = true;
    if (v !== null && typeof v === 'object') flatten(v as object, into);
  }
  return into;
}

/** 32 chars of WeChat's out_trade_no alphabet: a sortable time prefix and 64 random bits. */
export function generateOutTradeNo(now: Date): string {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 17);
  return `P${stamp}${randomBytes(7).toString('hex')}`;
}

export function completeRequest(input: NewPayment, now: Date, prepayTtlSeconds: number): PaymentRequest {
  const outTradeNo = input.outTradeNo ?? generateOutTradeNo(now);
  const expiresAt = input.expiresAt ?? new Date(now.getTime() + prepayTtlSeconds * 1000).toISOString();
  return { ...input, outTradeNo, expiresAt };
}
