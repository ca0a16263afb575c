import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, eventIdOf, eventTimeOf, eventTypeOf, subjectOf } from '#shared/domain/events';
import type { AggregateChange, EventType } from '#shared/domain/events';
import { ORDER_STATUSES } from '#shared/domain/order';
import type { Order, OrderStatus } from '#shared/domain/order';
import { REFUND_STATUSES } from '#shared/domain/refund';
import type { Refund, RefundStatus } from '#shared/domain/refund';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder } from '#test/helpers/refund-store-contract';

function order(status: OrderStatus, overrides: Partial<Order> = {}): Order {
  return orderFixture({ outTradeNo: 'T20300101000001', status, ...overrides });
}

function refund(status: RefundStatus, overrides: Partial<Refund> = {}): Refund {
  return newRefund(paidOrder(), 100, { outTradeNo: 'T20300101000001', outRefundNo: 'RF0001', status, ...overrides });
}

const payment = (before: OrderStatus | undefined, after: OrderStatus): AggregateChange =>
  before === undefined
    ? { kind: 'payment', after: order(after) }
    : { kind: 'payment', before: order(before), after: order(after) };

const refundChange = (before: RefundStatus | undefined, after: RefundStatus): AggregateChange =>
  before === undefined
    ? { kind: 'refund', after: refund(after) }
    : { kind: 'refund', before: refund(before), after: refund(after) };

describe('eventTypeOf', () => {
  // Written out, not derived from the mapping under test: what the backend is told of each change.
  const intoOrderStatus: Record<OrderStatus, EventType | undefined> = {
    CREATED: undefined,
    PENDING: undefined,
    PAID: 'payment.succeeded',
    FAILED: 'payment.failed',
    CLOSED: 'payment.closed',
  };
  const intoRefundStatus: Record<RefundStatus, EventType | undefined> = {
    PROCESSING: undefined,
    SUCCESS: 'refund.succeeded',
    CLOSED: 'refund.closed',
    ABNORMAL: 'refund.abnormal',
  };

  it('names the named order changes', () => {
    expect(eventTypeOf(payment('CREATED', 'PENDING'))).toBeUndefined();
    expect(eventTypeOf(payment('PENDING', 'PAID'))).toBe('payment.succeeded');
    expect(eventTypeOf(payment('PENDING', 'FAILED'))).toBe('payment.failed');
    expect(eventTypeOf(payment('PENDING', 'CLOSED'))).toBe('payment.closed');
    expect(eventTypeOf(payment('CREATED', 'CLOSED'))).toBe('payment.closed');
    expect(eventTypeOf(payment('FAILED', 'PAID'))).toBe('payment.succeeded');
    expect(eventTypeOf(payment(undefined, 'CREATED'))).toBeUndefined();
  });

  it('for every pair of order statuses (and a creation): none without a change, else by the new status', () => {
    for (const before of [undefined, ...ORDER_STATUSES]) {
      for (const after of ORDER_STATUSES) {
        const expected = before === after ? undefined : intoOrderStatus[after];
        expect(eventTypeOf(payment(before, after)), `${before ?? 'none'} → ${after}`).toBe(expected);
      }
    }
  });

  it('names the named refund changes', () => {
    expect(eventTypeOf(refundChange(undefined, 'PROCESSING'))).toBeUndefined();
    expect(eventTypeOf(refundChange('PROCESSING', 'SUCCESS'))).toBe('refund.succeeded');
    expect(eventTypeOf(refundChange('PROCESSING', 'CLOSED'))).toBe('refund.closed');
    expect(eventTypeOf(refundChange('PROCESSING', 'ABNORMAL'))).toBe('refund.abnormal');
    expect(eventTypeOf(refundChange('ABNORMAL', 'SUCCESS'))).toBe('refund.succeeded');
    expect(eventTypeOf(refundChange('ABNORMAL', 'CLOSED'))).toBe('refund.closed');
  });

  it('for every pair of refund statuses (and a creation): none without a change, else by the new status', () => {
    for (const before of [undefined, ...REFUND_STATUSES]) {
      for (const after of REFUND_STATUSES) {
        const expected = before === after ? undefined : intoRefundStatus[after];
        expect(eventTypeOf(refundChange(before, after)), `${before ?? 'none'} → ${after}`).toBe(expected);
      }
    }
  });

  it('ignores every other change of the item: a late payment, refund counters, a new check time', () => {
    const paid = order('PAID');
    const changed = order('PAID', {
      updatedAt: at(900),
      nextCheckAt: at(1000),
      refunds: { refunded: 100, pending: 0, count: 1 },
    });
    expect(eventTypeOf({ kind: 'payment', before: paid, after: changed })).toBeUndefined();
    const abnormal = refund('ABNORMAL');
    expect(
      eventTypeOf({ kind: 'refund', before: abnormal, after: { ...abnormal, nextCheckAt: at(5000) } }),
    ).toBeUndefined();
  });

  it('covers each event type', () => {
    const named = new Set([...Object.values(intoOrderStatus), ...Object.values(intoRefundStatus)]);
    expect([...EVENT_TYPES].sort()).toEqual([...named].filter((t) => t !== undefined).sort());
  });
});

describe('eventIdOf', () => {
  const ofOrder = { outTradeNo: 'T20300101000001' };
  const ofRefund = { outTradeNo: 'T20300101000001', outRefundNo: 'RF0001' };

  it('is evt_ and 32 hex, pinned: a changed derivation would give a replayed change a new id', () => {
    expect(eventIdOf(ofOrder, 'payment.succeeded')).toBe('evt_52eec367a92736bfbbcc7c915d8b0f75');
    expect(eventIdOf(ofRefund, 'refund.succeeded')).toBe('evt_f2e3a3bf8064659a1369d3cbcfe5c3b0');
  });

  it('is the same for the same subject and type, and differs when either differs', () => {
    expect(eventIdOf({ ...ofOrder }, 'payment.failed')).toBe(eventIdOf(ofOrder, 'payment.failed'));
    const ids = [
      eventIdOf(ofOrder, 'payment.succeeded'),
      eventIdOf(ofOrder, 'payment.failed'),
      eventIdOf(ofOrder, 'payment.closed'),
      eventIdOf({ outTradeNo: 'T20300101000002' }, 'payment.succeeded'),
      eventIdOf(ofRefund, 'refund.succeeded'),
      eventIdOf(ofRefund, 'refund.closed'),
      eventIdOf(ofRefund, 'refund.abnormal'),
      eventIdOf({ ...ofRefund, outRefundNo: 'RF0002' }, 'refund.succeeded'),
      eventIdOf({ outTradeNo: 'T20300101000002', outRefundNo: 'RF0001' }, 'refund.succeeded'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
  });
});

describe('subjectOf', () => {
  it('is the order for a payment change and the order and refund for a refund change', () => {
    expect(subjectOf(payment('PENDING', 'PAID'))).toEqual({ outTradeNo: 'T20300101000001' });
    expect(subjectOf(refundChange('PROCESSING', 'SUCCESS'))).toEqual({
      outTradeNo: 'T20300101000001',
      outRefundNo: 'RF0001',
    });
  });
});

describe('eventTimeOf', () => {
  it('is when the order entered its new status, not its last update', () => {
    const after = order('PAID', {
      updatedAt: at(500),
      history: [
        { at: at(0), from: null, to: 'CREATED', source: 'api' },
        { at: at(1), from: 'CREATED', to: 'PENDING', source: 'api' },
        { at: at(100), from: 'PENDING', to: 'PAID', source: 'notify' },
      ],
    });
    expect(eventTimeOf({ kind: 'payment', before: order('PENDING'), after })).toBe(at(100));
  });

  it('is when the refund entered its new status', () => {
    const after = refund('SUCCESS', {
      updatedAt: at(800),
      history: [
        { at: at(10), from: null, to: 'PROCESSING', source: 'api' },
        { at: at(300), from: 'PROCESSING', to: 'ABNORMAL', source: 'notify' },
        { at: at(700), from: 'ABNORMAL', to: 'SUCCESS', source: 'reconcile' },
      ],
    });
    expect(eventTimeOf({ kind: 'refund', before: refund('ABNORMAL'), after })).toBe(at(700));
  });

  it('falls back to the last update when no history entry names the status', () => {
    const after = order('CLOSED', { updatedAt: at(7300), history: [] });
    expect(eventTimeOf({ kind: 'payment', before: order('PENDING'), after })).toBe(at(7300));
  });
});
