import type { Clock } from './clock';
import { newCodeUrl, newMwebUrl, newPrepayId, newTransactionId } from './ids';
import type { Prepay, ProtocolInfo, SimOrder, TradeType } from './order-model';
import type { StateStore } from './state-store';
import type { TimeRules } from './time-rules';

/**
 * The trade state machine WeChat keeps for each out_trade_no, independent of how the request was
 * encoded (v2 XML today, v3 JSON later):
 *
 *   NOTPAY ─pay→ SUCCESS          NOTPAY/USERPAYING/PAYERROR ─close→ CLOSED
 *   NOTPAY ─payer starts→ USERPAYING ─pay→ SUCCESS | PAYERROR ─pay again→ …
 */

export interface NewTrade {
  outTradeNo: string;
  appid: string;
  mchid: string;
  protocol: ProtocolInfo;
  fingerprint: string;
  tradeType: TradeType;
  description: string;
  attach?: string;
  totalFee: number;
  currency: string;
  notifyUrl: string;
  openid?: string;
  productId?: string;
  deviceInfo?: string;
  sceneInfo?: string;
  /** The merchant's time_expire as an instant (epoch ms), before scaling. */
  timeExpire?: number;
}

export type PrepareOutcome =
  | { kind: 'created'; order: SimOrder }
  /** Same out_trade_no, same content: the same prepay (renewed if it had expired). */
  | { kind: 'existing'; order: SimOrder }
  | { kind: 'paid'; order: SimOrder }
  | { kind: 'closed'; order: SimOrder }
  /** Same out_trade_no, other content. */
  | { kind: 'conflict'; order: SimOrder };

export type CloseOutcome =
  | { kind: 'closed'; order: SimOrder }
  | { kind: 'not_found' }
  | { kind: 'paid'; order: SimOrder }
  | { kind: 'already_closed'; order: SimOrder }
  | { kind: 'too_early'; order: SimOrder; closableAt: number };

export type PayerResult = 'SUCCESS' | 'FAIL' | 'USERPAYING';

export type NotPayableReason = 'ORDERPAID' | 'ORDERCLOSED' | 'PREPAY_EXPIRED' | 'ORDER_EXPIRED';

export type PayOutcome =
  | { kind: 'done'; order: SimOrder }
  | { kind: 'not_found' }
  | { kind: 'not_payable'; reason: NotPayableReason; order: SimOrder };

export const DEFAULT_BANK_TYPE = 'OTHERS';

export class Trades {
  constructor(
    private readonly store: StateStore,
    readonly rules: TimeRules,
    private readonly clock: Clock,
  ) {}

  find(key: { outTradeNo: string } | { transactionId: string }): SimOrder | undefined {
    return 'outTradeNo' in key
      ? this.store.getOrder(key.outTradeNo)
      : this.store.findByTransactionId(key.transactionId);
  }

  prepare(input: NewTrade): PrepareOutcome {
    const now = this.clock.now();
    const existing = this.store.getOrder(input.outTradeNo);
    if (existing === undefined) {
      const { timeExpire, ...fields } = input;
      const order: SimOrder = {
        ...fields,
        createdAt: now,
        expiresAt: timeExpire,
        prepay: this.newPrepay(input.tradeType, now),
        state: 'NOTPAY',
      };
      return { kind: 'created', order: this.store.putOrder(order) };
    }
    if (existing.state === 'SUCCESS') return { kind: 'paid', order: existing };
    if (existing.state === 'CLOSED') return { kind: 'closed', order: existing };
    if (existing.fingerprint !== input.fingerprint) return { kind: 'conflict', order: existing };
    if (now < existing.prepay.expiresAt) return { kind: 'existing', order: existing };
    // WeChat's prepay_id lives two hours; asking again after that gives a fresh one for the same order.
    const renewed = this.store.putOrder({ ...existing, prepay: this.newPrepay(existing.tradeType, now) });
    return { kind: 'existing', order: renewed };
  }

  close(outTradeNo: string): CloseOutcome {
    const order = this.store.getOrder(outTradeNo);
    if (order === undefined) return { kind: 'not_found' };
    if (order.state === 'SUCCESS') return { kind: 'paid', order };
    if (order.state === 'CLOSED') return { kind: 'already_closed', order };
    const now = this.clock.now();
    const closableAt = this.rules.closableFrom(order.createdAt);
    if (now < closableAt) return { kind: 'too_early', order, closableAt };
    return { kind: 'closed', order: this.store.putOrder({ ...order, state: 'CLOSED', closedAt: now }) };
  }

  /** The payer's side: pays (SUCCESS), fails (FAIL) or is entering the password (USERPAYING). */
  pay(outTradeNo: string, result: PayerResult, openid?: string): PayOutcome {
    const order = this.store.getOrder(outTradeNo);
    if (order === undefined) return { kind: 'not_found' };
    const now = this.clock.now();
    const reason = this.notPayableReason(order, now);
    if (reason !== undefined) return { kind: 'not_payable', reason, order };
    if (result === 'USERPAYING') return { kind: 'done', order: this.store.putOrder({ ...order, state: 'USERPAYING' }) };
    if (result === 'FAIL') return { kind: 'done', order: this.store.putOrder({ ...order, state: 'PAYERROR' }) };
    const paid: SimOrder = {
      ...order,
      state: 'SUCCESS',
      payment: {
        transactionId: this.uniqueTransactionId(now),
        paidAt: now,
        openid: openid ?? order.openid ?? `oSandbox${order.outTradeNo.slice(0, 20)}`,
        bankType: DEFAULT_BANK_TYPE,
        cashFee: order.totalFee,
      },
    };
    return { kind: 'done', order: this.store.putOrder(paid) };
  }

  /**
   * A trade paid at `paidAt` that the merchant never prepared (the bill's unknown_payment fault): it is
   * a real payment from then on, which queries report and the day's bill lists, but no notification
   * goes out for it. The caller makes sure out_trade_no is free.
   */
  recordUnknownPayment(input: Omit<NewTrade, 'timeExpire'>, paidAt: number): SimOrder {
    return this.store.putOrder({
      ...input,
      createdAt: paidAt,
      prepay: this.newPrepay(input.tradeType, paidAt),
      state: 'SUCCESS',
      payment: {
        transactionId: this.uniqueTransactionId(paidAt),
        paidAt,
        openid: input.openid ?? `oSandbox${input.outTradeNo.slice(0, 20)}`,
        bankType: DEFAULT_BANK_TYPE,
        cashFee: input.totalFee,
      },
    });
  }

  private notPayableReason(order: SimOrder, now: number): NotPayableReason | undefined {
    if (order.state === 'SUCCESS') return 'ORDERPAID';
    if (order.state === 'CLOSED') return 'ORDERCLOSED';
    if (order.expiresAt !== undefined && now >= order.expiresAt) return 'ORDER_EXPIRED';
    if (now >= order.prepay.expiresAt) return 'PREPAY_EXPIRED';
    return undefined;
  }

  private newPrepay(tradeType: TradeType, now: number): Prepay {
    const prepayId = newPrepayId(now);
    return {
      prepayId,
      issuedAt: now,
      expiresAt: this.rules.prepayExpiresAt(now),
      codeUrl: tradeType === 'NATIVE' ? newCodeUrl() : undefined,
      mwebUrl: tradeType === 'MWEB' ? newMwebUrl(prepayId) : undefined,
    };
  }

  private uniqueTransactionId(now: number): string {
    for (;;) {
      const id = newTransactionId(now);
      if (!this.store.hasTransactionId(id)) return id;
    }
  }
}
