import { describe, expect, it } from 'vitest';

import { encodeReconcileCheck, encodeRefundCheck } from '#shared/adapters/sqs-check-scheduler';
import { parseReconcileCheck, parseReconcileMessage } from '#shared/app/reconcile-message';
import { ValidationError } from '#shared/domain/errors';

const dueAt = '2030-01-01T00:01:00.000Z';

describe('reconcile queue messages', () => {
  it('reads a message without kind as a payment check (as every message was before refunds)', () => {
    const body = JSON.stringify({ outTradeNo: 'T000123', attempt: 2, dueAt });
    expect(parseReconcileMessage(body)).toEqual({
      kind: 'payment',
      check: { outTradeNo: 'T000123', attempt: 2, dueAt },
    });
    expect(parseReconcileCheck(body)).toEqual({ outTradeNo: 'T000123', attempt: 2, dueAt });
  });

  it('reads a refund check', () => {
    const body = JSON.stringify({ kind: 'refund', outTradeNo: 'T000123', outRefundNo: 'R@1|x', attempt: 0, dueAt });
    expect(parseReconcileMessage(body)).toEqual({
      kind: 'refund',
      check: { outTradeNo: 'T000123', outRefundNo: 'R@1|x', attempt: 0, dueAt },
    });
    expect(() => parseReconcileCheck(body)).toThrow(ValidationError);
  });

  it('reads back exactly what the SQS scheduler writes, for both kinds', () => {
    const payment = { outTradeNo: 'T000123', attempt: 1, dueAt };
    const refund = { outTradeNo: 'T000123', outRefundNo: 'R1', attempt: 3, dueAt };
    expect(parseReconcileMessage(encodeReconcileCheck(payment))).toEqual({ kind: 'payment', check: payment });
    expect(parseReconcileMessage(encodeRefundCheck(refund))).toEqual({ kind: 'refund', check: refund });
  });

  it('reads a payment check’s watch bound, and a check sent before bounds without one', () => {
    const bound = '2030-01-01T02:00:00.000Z';
    const bounded = { outTradeNo: 'T000123', attempt: 1, dueAt, bound };
    expect(parseReconcileCheck(encodeReconcileCheck(bounded))).toEqual(bounded);
    expect(parseReconcileCheck(JSON.stringify({ outTradeNo: 'T000123', attempt: 1, dueAt }))).not.toHaveProperty(
      'bound',
    );
  });

  it.each([
    ['not json', /not JSON/],
    [JSON.stringify({ outTradeNo: 'T000123', attempt: 0 }), /dueAt/],
    [JSON.stringify({ outTradeNo: 'T000123', attempt: -1, dueAt }), /attempt/],
    [JSON.stringify({ outTradeNo: 'T000123', outRefundNo: 'R1', attempt: 0, dueAt }), /outRefundNo|unrecognized/i],
    [JSON.stringify({ kind: 'refund', outTradeNo: 'T000123', attempt: 0, dueAt }), /outRefundNo/],
    [JSON.stringify({ kind: 'refund', outTradeNo: 'T000123', outRefundNo: 'R 1', attempt: 0, dueAt }), /outRefundNo/],
    [JSON.stringify({ kind: 'payment', outTradeNo: 'T000123', attempt: 0, dueAt }), /kind/],
    [JSON.stringify({ kind: 'close', outTradeNo: 'T000123', outRefundNo: 'R1', attempt: 0, dueAt }), /kind/],
    [JSON.stringify({ outTradeNo: 'T000123', attempt: 0, dueAt, bound: 'soon' }), /bound/],
    [JSON.stringify({ outTradeNo: 'T000123', attempt: 0, dueAt, bound: null }), /bound/],
  ])('refuses a malformed message (%s), so SQS retries it into the DLQ', (body, why) => {
    expect(() => parseReconcileMessage(body)).toThrow(ValidationError);
    expect(() => parseReconcileMessage(body)).toThrow(why);
  });
});
