import { isWechatRefusal, ProviderError, ValidationError } from '../domain/errors';
import type { PaymentFacts, PaymentRequest } from '../domain/order';
import type { PaymentProvider, PrepayResult, TradeReport } from '../domain/ports';
import type { V3Prepay, V3PrepayInput, V3Transaction, WechatPayV3Client } from '../wechatpay/v3/client';
import { toDomainError, withDomainErrors } from './wechatpay-errors';
import { TRADE_STATE } from './wechatpay-trade-state';

/**
 * PaymentProvider over WeChat Pay APIv3.
 *
 * prepayId: v3 returns a prepay_id only for JSAPI and APP. For NATIVE and MWEB (v3 "h5") the only
 * reference WeChat gives is the link itself, so prepayId holds the code_url / h5_url; the client
 * params carry the same link as `code_url` / `mweb_url` (the public contract's name).
 * H5 without h5_info is sent as `{ type: 'Wap' }` (a mobile web page), which v3 requires.
 * product_id (v2 NATIVE) has no v3 counterpart and is not sent.
 */

/** Why a transaction cannot be reported; undefined when it can. */
export type ReportProblem = { code: 'UNSUPPORTED_CURRENCY' | 'INCOMPLETE_PAYMENT'; message: string };

/**
 * A v3 transaction (query answer or decrypted notification) as a TradeReport. The domain checks
 * appid, mchid, amount and currency against the order; here only what cannot be represented is
 * refused: a currency other than CNY, or a paid state without the facts of the payment.
 */
export function transactionToReport(t: V3Transaction): TradeReport | ReportProblem {
  const report: TradeReport = {
    outTradeNo: t.out_trade_no,
    state: TRADE_STATE[t.trade_state],
    appid: t.appid,
    mchid: t.mchid,
  };
  if (t.trade_state_desc !== undefined) report.description = t.trade_state_desc;
  const currency = t.amount?.currency ?? 'CNY';
  if (currency !== 'CNY') return { code: 'UNSUPPORTED_CURRENCY', message: `the transaction is in ${currency}` };
  if (t.amount?.total !== undefined) report.amount = { total: t.amount.total, currency };
  if (t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND') {
    if (t.transaction_id === undefined || t.success_time === undefined || t.amount?.total === undefined) {
      return {
        code: 'INCOMPLETE_PAYMENT',
        message: `${t.trade_state} without transaction_id, success_time or amount.total`,
      };
    }
    // amount.total is what the order was for; payer_total can be lower when a coupon paid part of it.
    const payment: PaymentFacts = {
      transactionId: t.transaction_id,
      amountTotal: t.amount.total,
      currency,
      paidAt: t.success_time,
    };
    if (t.bank_type !== undefined) payment.bankType = t.bank_type;
    if (t.payer?.openid !== undefined) payment.payerOpenid = t.payer.openid;
    report.payment = payment;
  }
  return report;
}

export function isReportProblem(value: TradeReport | ReportProblem): value is ReportProblem {
  return 'code' in value;
}

/** Our PaymentRequest as the fields every v3 prepay takes. */
export function toPrepayInput(request: PaymentRequest, notifyUrl: string): V3PrepayInput {
  const input: V3PrepayInput = {
    description: request.description,
    outTradeNo: request.outTradeNo,
    notifyUrl,
    amount: { total: request.amount.total, currency: request.amount.currency },
    timeExpire: request.expiresAt,
    payerClientIp: request.payerClientIp,
  };
  if (request.attach !== undefined) input.attach = request.attach;
  return input;
}

/** Our PaymentRequest as the v3 prepay its trade type calls for. */
export function toV3Prepay(request: PaymentRequest, notifyUrl: string): V3Prepay {
  const input = toPrepayInput(request, notifyUrl);
  switch (request.tradeType) {
    case 'JSAPI':
      if (request.payerOpenid === undefined)
        throw new ValidationError('payer.openid is required for JSAPI', 'payer.openid');
      return { kind: 'jsapi', input: { ...input, payerOpenid: request.payerOpenid } };
    case 'APP':
      return { kind: 'app', input };
    case 'NATIVE':
      return { kind: 'native', input };
    case 'MWEB':
      return {
        kind: 'h5',
        input: { ...input, payerClientIp: request.payerClientIp, h5Info: request.h5Info ?? { type: 'Wap' } },
      };
  }
}

export class WechatPayV3Provider implements PaymentProvider {
  readonly apiVersion = 'v3' as const;

  constructor(readonly client: WechatPayV3Client) {}

  validate(request: PaymentRequest, notifyUrl: string): void {
    try {
      this.client.checkPrepay(toV3Prepay(request, notifyUrl));
    } catch (error) {
      throw toDomainError(error);
    }
  }

  async prepay(request: PaymentRequest, notifyUrl: string): Promise<PrepayResult> {
    return withDomainErrors(() => this.prepayAtWechat(toV3Prepay(request, notifyUrl)));
  }

  private async prepayAtWechat(prepay: V3Prepay): Promise<PrepayResult> {
    switch (prepay.kind) {
      case 'jsapi': {
        const { prepayId } = await this.client.prepayJsapi(prepay.input);
        return { prepayId, client: this.client.jsapiClientParams(prepayId) };
      }
      case 'app': {
        const { prepayId } = await this.client.prepayApp(prepay.input);
        return { prepayId, client: this.client.appClientParams(prepayId) };
      }
      case 'native': {
        const { codeUrl } = await this.client.prepayNative(prepay.input);
        return { prepayId: codeUrl, client: { code_url: codeUrl } };
      }
      case 'h5': {
        const { h5Url } = await this.client.prepayH5(prepay.input);
        return { prepayId: h5Url, client: { mweb_url: h5Url } };
      }
    }
  }

  async query(outTradeNo: string): Promise<TradeReport> {
    let transaction: V3Transaction;
    try {
      transaction = await withDomainErrors(() => this.client.queryByOutTradeNo(outTradeNo));
    } catch (error) {
      if (isWechatRefusal(error, 'ORDERNOTEXIST')) {
        return {
          outTradeNo,
          state: 'NOT_FOUND',
          appid: this.client.appid,
          mchid: this.client.mchid,
          description: error.message,
        };
      }
      throw error;
    }
    const report = transactionToReport(transaction);
    if (isReportProblem(report))
      throw new ProviderError(report.code, report.message, { retryable: false, kind: 'business' });
    return report;
  }

  async close(outTradeNo: string): Promise<void> {
    await withDomainErrors(() => this.client.close(outTradeNo));
  }
}
