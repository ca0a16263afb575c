import { ProviderError, ValidationError } from '../domain/errors';
import type { Amount, ClientParams, Currency, H5Info, PaymentFacts, PaymentRequest } from '../domain/order';
import { systemClock, type Clock, type PaymentProvider, type PrepayResult, type TradeReport } from '../domain/ports';
import { WechatPayV2Client } from '../wechatpay/v2/client';
import type {
  OrderQueryResponse,
  UnifiedOrderRequest,
  UnifiedOrderResponse,
  WechatPayV2ClientOptions,
} from '../wechatpay/v2/client';
import { unixTimestamp } from '../wechatpay/core/clock';
import { randomNonce } from '../wechatpay/core/nonce';
import { appClientParams, jsapiClientParams } from '../wechatpay/v2/client-params';
import type { SignType } from '../wechatpay/v2/sign';
import { toWechatTime } from '../wechatpay/v2/time';
import { toDomainError, withDomainErrors } from './wechatpay-errors';
import { TRADE_STATE } from './wechatpay-trade-state';

export interface WechatPayV2ProviderOptions extends WechatPayV2ClientOptions {
  /** For the client re-sign's timestamp. */
  clock?: Clock;
}

/** PaymentRequest → unifiedorder fields (WeChat's names, Beijing time, scene_info JSON). */
export function toUnifiedOrderRequest(request: PaymentRequest, notifyUrl: string): UnifiedOrderRequest {
  let timeExpire: string;
  try {
    timeExpire = toWechatTime(request.expiresAt);
  } catch (err) {
    throw new ValidationError('expiresAt must be an ISO 8601 instant', 'expiresAt', { cause: err });
  }
  const req: UnifiedOrderRequest = {
    body: request.description,
    out_trade_no: request.outTradeNo,
    total_fee: request.amount.total,
    spbill_create_ip: request.payerClientIp,
    notify_url: notifyUrl,
    trade_type: request.tradeType,
    time_expire: timeExpire,
  };
  if (request.payerOpenid !== undefined) req.openid = request.payerOpenid;
  if (request.productId !== undefined) req.product_id = request.productId;
  if (request.attach !== undefined) req.attach = request.attach;
  if (request.h5Info !== undefined) req.scene_info = sceneInfoJson(request.h5Info);
  return req;
}

/**
 * scene_info in one fixed key order: WeChat compares a repeated unifiedorder with the first, and
 * the stored request comes back from DynamoDB with its map keys in any order.
 */
function sceneInfoJson(h5: H5Info): string {
  const { type, app_name, app_url, bundle_id, package_name } = h5;
  return JSON.stringify({ h5_info: { type, app_name, app_url, bundle_id, package_name } });
}

/** What the client needs for each trade type: re-signed APP / JSAPI params, or the link. */
export function toClientParams(
  order: UnifiedOrderResponse,
  merchant: { appid: string; mchid: string; apiKey: string; signType: SignType },
  nonce: string,
  now: Date,
): ClientParams {
  const sign = {
    appid: merchant.appid,
    prepayId: order.prepay_id,
    apiKey: merchant.apiKey,
    signType: merchant.signType,
    nonce,
    timestamp: unixTimestamp(now),
  };
  switch (order.trade_type) {
    case 'APP':
      return appClientParams({ ...sign, mchid: merchant.mchid });
    case 'JSAPI':
      return jsapiClientParams(sign);
    case 'NATIVE':
      return { code_url: linkOf(order.code_url, 'code_url') };
    case 'MWEB':
      return { mweb_url: linkOf(order.mweb_url, 'mweb_url') };
  }
}

function linkOf(value: string | undefined, field: string): string {
  if (value === undefined) {
    throw new ProviderError('INVALID_RESPONSE', `unifiedorder answer lacks ${field}`, {
      retryable: false,
      kind: 'business',
    });
  }
  return value;
}

/** fee_type → our Currency; WeChat omits fee_type for CNY. Undefined for any other currency. */
export function currencyOf(feeType: string | undefined): Amount['currency'] | undefined {
  return feeType === undefined || feeType === 'CNY' ? 'CNY' : undefined;
}

/** An orderquery answer as a TradeReport (the domain checks appid, mch_id and amount). */
export function toTradeReport(answer: OrderQueryResponse, outTradeNo: string): TradeReport {
  if (!answer.found) {
    const report: TradeReport = { outTradeNo, state: 'NOT_FOUND', appid: answer.appid, mchid: answer.mch_id };
    if (answer.err_code_des !== undefined) report.description = answer.err_code_des;
    return report;
  }
  const report: TradeReport = {
    outTradeNo: answer.out_trade_no,
    state: TRADE_STATE[answer.trade_state],
    appid: answer.appid,
    mchid: answer.mch_id,
  };
  if (answer.trade_state_desc !== undefined) report.description = answer.trade_state_desc;
  if (answer.total_fee !== undefined) {
    const currency = currencyOf(answer.fee_type);
    if (currency === undefined) {
      throw new ProviderError('UNSUPPORTED_CURRENCY', `orderquery reports fee_type ${answer.fee_type}`, {
        retryable: false,
        kind: 'business',
      });
    }
    report.amount = { total: answer.total_fee, currency };
    const payment =
      answer.trade_state === 'SUCCESS' || answer.trade_state === 'REFUND'
        ? paymentFactsOf(answer, currency)
        : undefined;
    if (payment !== undefined) report.payment = payment;
  }
  return report;
}

/** The payment facts v2 gives in a paid notification or query answer; undefined when one is missing. */
export function paymentFactsOf(
  fields: { transaction_id?: string; total_fee?: number; time_end?: string; bank_type?: string; openid?: string },
  currency: Currency,
): PaymentFacts | undefined {
  if (fields.transaction_id === undefined || fields.total_fee === undefined || fields.time_end === undefined)
    return undefined;
  const payment: PaymentFacts = {
    transactionId: fields.transaction_id,
    amountTotal: fields.total_fee,
    currency,
    paidAt: fields.time_end,
  };
  if (fields.bank_type !== undefined) payment.bankType = fields.bank_type;
  if (fields.openid !== undefined) payment.payerOpenid = fields.openid;
  return payment;
}

/** PaymentProvider over WeChat Pay API v2. */
export class WechatPayV2Provider implements PaymentProvider {
  readonly apiVersion = 'v2' as const;
  readonly client: WechatPayV2Client;
  readonly #apiKey: string;
  readonly #clock: Clock;
  readonly #nonce: () => string;

  constructor(options: WechatPayV2ProviderOptions) {
    const { clock, ...clientOptions } = options;
    try {
      this.client = new WechatPayV2Client(clientOptions);
    } catch (error) {
      throw toDomainError(error);
    }
    this.#apiKey = options.apiKey;
    this.#clock = clock ?? systemClock;
    this.#nonce = options.nonce ?? randomNonce;
  }

  validate(request: PaymentRequest, notifyUrl: string): void {
    try {
      this.client.checkUnifiedOrder(toUnifiedOrderRequest(request, notifyUrl));
    } catch (error) {
      throw toDomainError(error);
    }
  }

  async prepay(request: PaymentRequest, notifyUrl: string): Promise<PrepayResult> {
    const unifiedOrder = toUnifiedOrderRequest(request, notifyUrl);
    const order = await withDomainErrors(() => this.client.unifiedOrder(unifiedOrder));
    const merchant = {
      appid: this.client.appid,
      mchid: this.client.mchid,
      apiKey: this.#apiKey,
      signType: this.client.signType,
    };
    return { prepayId: order.prepay_id, client: toClientParams(order, merchant, this.#nonce(), this.#clock.now()) };
  }

  async query(outTradeNo: string): Promise<TradeReport> {
    const answer = await withDomainErrors(() => this.client.orderQuery({ out_trade_no: outTradeNo }));
    return toTradeReport(answer, outTradeNo);
  }

  async close(outTradeNo: string): Promise<void> {
    await withDomainErrors(() => this.client.closeOrder(outTradeNo));
  }
}
