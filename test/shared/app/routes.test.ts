import { describe, expect, it } from 'vitest';

import {
  APP_BACKEND_ROUTES,
  BILL_ROUTES,
  NOTIFY_REFUND_ROUTE,
  NOTIFY_ROUTE,
  NOTIFY_ROUTES,
  refundNotifyUrlOf,
  routeKey,
  routePath,
} from '#shared/app/routes';

describe('refund routes', () => {
  it('are the contract’s paths on the orders function', () => {
    expect(routeKey(APP_BACKEND_ROUTES.createRefund)).toBe('POST /orders/{out_trade_no}/refunds');
    expect(routeKey(APP_BACKEND_ROUTES.listRefunds)).toBe('GET /orders/{out_trade_no}/refunds');
    expect(routeKey(APP_BACKEND_ROUTES.getRefund)).toBe('GET /orders/{out_trade_no}/refunds/{out_refund_no}');
    expect(routePath(APP_BACKEND_ROUTES.getRefund, { out_trade_no: 'T000123', out_refund_no: 'R|1@2' })).toBe(
      '/orders/T000123/refunds/R%7C1%402',
    );
  });

  it('refund notifications arrive beside payment notifications, on the same notify function', () => {
    expect(routeKey(NOTIFY_REFUND_ROUTE)).toBe('POST /notify/refund');
    expect(NOTIFY_ROUTES).toEqual([NOTIFY_ROUTE, NOTIFY_REFUND_ROUTE]);
  });

  it('derives the refund notify_url from NOTIFY_URL by its last path, and only from one ending in /notify/pay', () => {
    expect(refundNotifyUrlOf('https://abc.lambda-url.ap-east-1.on.aws/notify/pay')).toBe(
      'https://abc.lambda-url.ap-east-1.on.aws/notify/refund',
    );
    expect(refundNotifyUrlOf('http://127.0.0.1:3000/notify/pay')).toBe('http://127.0.0.1:3000/notify/refund');
    expect(refundNotifyUrlOf('https://pay.example.com/notify/pay/notify/pay')).toBe(
      'https://pay.example.com/notify/pay/notify/refund',
    );
    expect(refundNotifyUrlOf('https://pay.example.com/wechat/notify')).toBeUndefined();
    expect(refundNotifyUrlOf('https://pay.example.com/notify/payment')).toBeUndefined();
  });
});

describe('mini program routes', () => {
  it('are the contract’s paths on the orders function', () => {
    expect(routeKey(APP_BACKEND_ROUTES.createMiniProgramSession)).toBe('POST /miniprogram/sessions');
    expect(routeKey(APP_BACKEND_ROUTES.decryptMiniProgramData)).toBe('POST /miniprogram/decrypt');
  });
});

describe('bill reconciliation routes', () => {
  it('are the contract’s paths, apart from the orders function’s routes', () => {
    expect(routeKey(BILL_ROUTES.createReconciliation)).toBe('POST /reconciliations');
    expect(routeKey(BILL_ROUTES.getReconciliation)).toBe('GET /reconciliations/{bill_date}');
    expect(routePath(BILL_ROUTES.getReconciliation, { bill_date: '2030-01-01' })).toBe('/reconciliations/2030-01-01');
    const appBackend = new Set(Object.values(APP_BACKEND_ROUTES).map(routeKey));
    for (const route of Object.values(BILL_ROUTES)) expect(appBackend.has(routeKey(route))).toBe(false);
  });
});
