import { describe, expect, it } from 'vitest';

import { refundView } from '#shared/app/refund-view';
import type { Refund } from '#shared/domain/refund';
import { at } from '#test/helpers/order-fixtures';

function refund(overrides: Partial<Refund> = {}): Refund {
  return {
    outRefundNo: 'R1',
    outTradeNo: 'T000123',
    status: 'PROCESSING',
    amount: { refund: 500, total: 1999, currency: 'CNY' },
    requestHash: 'h'.repeat(64),
    createdAt: at(0),
    updatedAt: at(0),
    acceptedAt: at(1),
    nextCheckAt: at(60),
    history: [{ at: at(0), from: null, to: 'PROCESSING', source: 'api' }],
    ...overrides,
  };
}

describe('refundView', () => {
  it('is exactly the contract’s shape for a refund WeChat has not answered yet', () => {
    expect(refundView(refund())).toEqual({
      out_refund_no: 'R1',
      out_trade_no: 'T000123',
      status: 'PROCESSING',
      amount: { refund: 500, total: 1999, currency: 'CNY' },
      created_at: at(0),
      updated_at: at(0),
    });
  });

  it('adds refund_id, reason and success_time once known, and nothing of the bookkeeping', () => {
    const view = refundView(
      refund({
        status: 'SUCCESS',
        refundId: '50000000382019052709732678859',
        reason: '退货',
        successTime: '2030-01-01T08:01:00+08:00',
        userReceivedAccount: '支付用户零钱',
        updatedAt: at(60),
        nextCheckAt: undefined,
      }),
    );
    expect(view).toEqual({
      out_refund_no: 'R1',
      out_trade_no: 'T000123',
      status: 'SUCCESS',
      amount: { refund: 500, total: 1999, currency: 'CNY' },
      refund_id: '50000000382019052709732678859',
      reason: '退货',
      created_at: at(0),
      updated_at: at(60),
      success_time: '2030-01-01T08:01:00+08:00',
    });
  });
});
