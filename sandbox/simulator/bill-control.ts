import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBillDate, startOfBillDate } from './bill-dates';
import { billFaultsRequestSchema, billFaultsView } from './bill-faults';
import type { BillFaults, BillFaultsRequest, UnknownPayment } from './bill-faults';
import type { BillApi, TradeBills } from './bills';
import type { Clock } from './clock';
import { readJson, sendJson, sendJsonError, sendText } from './http-io';
import { nonce } from './ids';
import type { ProtocolInfo } from './order-model';
import type { Route } from './router';
import type { StateStore } from './state-store';
import type { Trades } from './trades';

export interface BillControlDeps {
  bills: TradeBills;
  faults: BillFaults;
  trades: Trades;
  store: StateStore;
  clock: Clock;
  merchant: { appid: string; mchid: string };
  /** The protocol an unknown payment is recorded under (the simulator's newest). */
  protocol: ProtocolInfo;
}

/** When an unknown payment of a past day was made: midday, Beijing. */
const UNKNOWN_PAYMENT_HOUR_MS = 12 * 3_600_000;

/** The sandbox's bill routes: a day's faults, and the day's bill as text for a developer to read. */
export function billControlRoutes(deps: BillControlDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/sandbox/bills/:billDate/faults',
      handler: (req, res, p) => setFaults(req, res, p.billDate as string, deps),
    },
    {
      method: 'GET',
      path: '/sandbox/bills/:billDate/faults',
      handler: async (_req, res, p) => showFaults(res, p.billDate as string, deps),
    },
    {
      method: 'GET',
      path: '/sandbox/bills/:billDate',
      handler: async (req, res, p) => showBill(req, res, p.billDate as string, deps),
    },
  ];
}

/** The path's bill date, checked; undefined once the 400 is sent. */
function billDateOf(res: ServerResponse, text: string, deps: BillControlDeps): string | undefined {
  const check = checkBillDate(text, deps.clock.now());
  if (check.ok) return check.date;
  sendJsonError(res, 400, 'INVALID_REQUEST', `bill_date: ${check.message}`, 'bill_date');
  return undefined;
}

async function setFaults(
  req: IncomingMessage,
  res: ServerResponse,
  text: string,
  deps: BillControlDeps,
): Promise<void> {
  const body = await readJson(req, res, billFaultsRequestSchema);
  if (body === undefined) return;
  const billDate = billDateOf(res, text, deps);
  if (billDate === undefined) return;
  let unknownPayment: UnknownPayment | undefined;
  if (body.unknown_payment !== undefined) {
    const made = unknownPaymentFor(billDate, body.unknown_payment, deps);
    if (made === 'taken') {
      sendJsonError(
        res,
        409,
        'OUT_TRADE_NO_USED',
        `out_trade_no ${body.unknown_payment.out_trade_no ?? ''} is already an order of the simulator's`,
        'unknown_payment.out_trade_no',
      );
      return;
    }
    unknownPayment = made;
  }
  deps.faults.replace(billDate, {
    creating: body.creating ?? false,
    tamper: body.tamper ?? false,
    ...(unknownPayment === undefined ? {} : { unknownPayment }),
  });
  sendJson(res, 200, billFaultsView(billDate, deps.faults.of(billDate)));
}

/**
 * The day's unknown payment: the one it already has when the request asks for the same again (so
 * replacing a day's faults with the same body makes no second payment), else a new paid trade, at
 * midday of that day or now if that is earlier. 'taken' when the out_trade_no names another order.
 */
function unknownPaymentFor(
  billDate: string,
  wanted: NonNullable<BillFaultsRequest['unknown_payment']>,
  deps: BillControlDeps,
): UnknownPayment | 'taken' {
  const kept = deps.faults.of(billDate).unknownPayment;
  if (
    kept !== undefined &&
    kept.total === wanted.total &&
    (wanted.out_trade_no === undefined || wanted.out_trade_no === kept.outTradeNo)
  )
    return kept;
  const outTradeNo = wanted.out_trade_no ?? `UNKNOWN${billDate.replace(/-/g, '')}${nonce(10)}`;
  if (deps.store.getOrder(outTradeNo) !== undefined) return 'taken';
  const paidAt = Math.min(deps.clock.now(), startOfBillDate(billDate) + UNKNOWN_PAYMENT_HOUR_MS);
  const order = deps.trades.recordUnknownPayment(
    {
      outTradeNo,
      appid: deps.merchant.appid,
      mchid: deps.merchant.mchid,
      protocol: deps.protocol,
      fingerprint: 'sandbox:unknown_payment',
      tradeType: 'NATIVE',
      description: '沙箱未知支付 (a payment the merchant never made)',
      totalFee: wanted.total,
      currency: 'CNY',
      notifyUrl: '',
    },
    paidAt,
  );
  return { outTradeNo, transactionId: order.payment?.transactionId ?? '', total: wanted.total };
}

function showFaults(res: ServerResponse, text: string, deps: BillControlDeps): void {
  const billDate = billDateOf(res, text, deps);
  if (billDate !== undefined) sendJson(res, 200, billFaultsView(billDate, deps.faults.of(billDate)));
}

/**
 * The bill as a download serves it (tamper applied), even while the day is "creating": v2's, or v3's
 * with `?api=v3` (the two differ only under the tamper fault; v3's file also starts with a BOM, left out here).
 */
function showBill(req: IncomingMessage, res: ServerResponse, text: string, deps: BillControlDeps): void {
  const api = new URL(req.url ?? '/', 'http://simulator').searchParams.get('api') ?? 'v2';
  if (api !== 'v2' && api !== 'v3') {
    sendJsonError(res, 400, 'INVALID_REQUEST', 'api: v2 or v3', 'api');
    return;
  }
  const billDate = billDateOf(res, text, deps);
  if (billDate === undefined) return;
  const bill = deps.bills.make(billDate, api satisfies BillApi);
  if (bill === undefined) sendJsonError(res, 404, 'NO_BILL', `no payment or refund on ${billDate}: no bill`);
  else sendText(res, 200, bill.served, 'text/plain; charset=utf-8');
}
