import { describe, expect, it } from 'vitest';

import { latencyOrders, TRADE_TYPES } from '#bench/api-latency';
import { parseXml } from '#shared/wechatpay/v2/xml';

describe('latencyOrders', () => {
  it('alternates the trade types and gives each order its own notification for that trade type', () => {
    const orders = latencyOrders('BLTEST', 4, 0);
    expect(orders.map((o) => o.tradeType)).toEqual([...TRADE_TYPES, ...TRADE_TYPES]);
    expect(new Set(orders.map((o) => o.outTradeNo)).size).toBe(4);
    for (const o of orders)
      expect(parseXml(o.notification)).toMatchObject({ out_trade_no: o.outTradeNo, trade_type: o.tradeType });
  });

  it('keeps transaction ids distinct across runs that start at different indexes', () => {
    const ids = [...latencyOrders('BLA', 3, 0), ...latencyOrders('BLB', 3, 3)].map(
      (o) => parseXml(o.notification).transaction_id,
    );
    expect(new Set(ids).size).toBe(6);
  });
});
