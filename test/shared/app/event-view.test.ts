import { describe, expect, it } from 'vitest';

import { eventJson, eventView } from '#shared/app/event-view';
import type { DomainEvent } from '#shared/domain/events';

const EVENT: DomainEvent = {
  id: 'evt_0123456789abcdef0123456789abcdef',
  type: 'refund.succeeded',
  createdAt: '2030-01-01T00:05:00.000Z',
  subject: { outTradeNo: 'T1', outRefundNo: 'RF1' },
  data: { out_refund_no: 'RF1', out_trade_no: 'T1', status: 'SUCCESS', amount: { refund: 30, total: 100 } },
};

describe('the wire form of an event', () => {
  it('is { id, type, created_at, data } and nothing else: the subject is internal', () => {
    const view = eventView(EVENT);
    expect(view).toEqual({
      id: EVENT.id,
      type: 'refund.succeeded',
      created_at: '2030-01-01T00:05:00.000Z',
      data: EVENT.data,
    });
    expect(Object.keys(view)).toEqual(['id', 'type', 'created_at', 'data']);
  });

  it('is rendered to these exact bytes, which are what is signed and sent', () => {
    // Pinned byte for byte: a change of key order, spacing or escaping changes every signature.
    expect(eventJson(EVENT)).toBe(
      '{"id":"evt_0123456789abcdef0123456789abcdef","type":"refund.succeeded",' +
        '"created_at":"2030-01-01T00:05:00.000Z","data":{"out_refund_no":"RF1","out_trade_no":"T1",' +
        '"status":"SUCCESS","amount":{"refund":30,"total":100}}}',
    );
  });
});
