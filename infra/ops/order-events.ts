import { eventIdOf, type EventSubject, PAYMENT_EVENT_TYPES, REFUND_EVENT_TYPES } from '#shared/domain/events';

/**
 * Every event id an order and these refunds of it could have produced. The log is indexed by time,
 * not by order, but an event's id is derived from its subject and type (eventIdOf): so an order's
 * events are read by id, with no scan of the log.
 */
export function orderEventIds(outTradeNo: string, outRefundNos: readonly string[]): string[] {
  return [
    ...Object.values(PAYMENT_EVENT_TYPES).map((type) => eventIdOf({ outTradeNo }, type)),
    ...outRefundNos.flatMap((outRefundNo) => {
      const subject: EventSubject = { outTradeNo, outRefundNo };
      return Object.values(REFUND_EVENT_TYPES).map((type) => eventIdOf(subject, type));
    }),
  ];
}
