import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  LambdaFunctionURLEvent,
  LambdaFunctionURLResult,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { RECONCILE_MAX_RECEIVE_COUNT } from '../config/reconcile-queue';
import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import { routeBills } from './bills-api';
import {
  buildEventRecorder,
  buildListEvents,
  buildMiniProgramUseCases,
  buildWebhookDelivery,
  createDependencies,
  buildPaymentUseCases,
  buildReceiveNotification,
  buildReceiveRefundNotification,
  buildRefundReconciler,
  buildRefundUseCases,
  buildReconcileBill,
  buildReconciler,
  buildSweeper,
  type DependencyOverrides,
  type Dependencies,
} from './dependencies';
import { answerError, httpErrors } from './http-errors';
import { beforeInvocationEnds, withInvocationDeadline } from './invocation-deadline';
import { handleNotify } from './notify-endpoint';
import { observedHandler } from './observed-handler';
import { orderViewOptionsOf } from './order-view';
import { type OrdersApi, routeOrders } from './orders-api';
import { publishMetrics } from './publish-metrics';
import { parseReconcileMessage } from './reconcile-message';
import { observedReconciliations } from './reconciliation-runs';
import { isScheduledEvent, runScheduledReconciliation, type ScheduledRunOutcome } from './scheduled-reconciliation';
import { recordStreamChanges } from './stream-changes';

export type OrdersHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;
export type NotifyHandler = (event: LambdaFunctionURLEvent, context: Context) => Promise<LambdaFunctionURLResult>;
export type ReconcileHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type SweepHandler = (event: unknown, context: Context) => Promise<{ enqueued: number }>;
export type EventsHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
export type WebhooksHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
/** The bill routes (API Gateway) and the daily schedule (EventBridge), on one function. */
export interface BillsHandler {
  (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2>;
  (event: ScheduledEvent, context: Context): Promise<ScheduledRunOutcome>;
}

export interface Handlers {
  orders: OrdersHandler;
  notify: NotifyHandler;
  reconcile: ReconcileHandler;
  sweep: SweepHandler;
  /** The table's stream consumer. */
  events: EventsHandler;
  /** The webhook queue's consumer; without MERCHANT_WEBHOOK_URL it refuses every batch. */
  webhooks: WebhooksHandler;
  /** Bill reconciliation: BILL_ROUTES, and the schedule's events in AWS (none locally). */
  bills: BillsHandler;
}

/** Each builder takes what its function needs at start-up: a missing setting fails the cold start. */
export function createOrdersHandler(deps: Dependencies): OrdersHandler {
  const listEvents = buildListEvents(deps);
  const api: OrdersApi = {
    clock: deps.clock,
    orderViewOptions: orderViewOptionsOf(deps.settings),
    useCases: buildPaymentUseCases(deps),
    refunds: buildRefundUseCases(deps),
    events: () => Promise.resolve(listEvents),
    miniProgram: buildMiniProgramUseCases(deps),
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .use(httpErrors(deps.observability.logger))
    .handler((event, context) => withInvocationDeadline(context, () => routeOrders(event, api)));
}

export function createNotifyHandler(deps: Dependencies): NotifyHandler {
  const endpoint = {
    wechatPay: deps.wechatPay,
    receiveNotification: buildReceiveNotification(deps),
    receiveRefundNotification: buildReceiveRefundNotification(deps),
    observability: deps.observability,
  };
  // Without middy: one invocation per notification WeChat sends (see observed-handler.ts).
  return observedHandler(deps.observability, (event: LambdaFunctionURLEvent, context) =>
    withInvocationDeadline(context, () => handleNotify(event, endpoint)),
  );
}

export function createReconcileHandler(deps: Dependencies): ReconcileHandler {
  const reconciler = buildReconciler(deps);
  const refundReconciler = buildRefundReconciler(deps);
  const processor = new BatchProcessor(EventType.SQS);
  // Every record ends with a decision before the invocation does: done, re-scheduled by the reconciler
  // when WeChat could not answer in time (acknowledged), or a batch item failure. The batch as a whole
  // never times out, so healthy checks are never redelivered (and counted towards the DLQ) for a slow one.
  const check = (record: SQSRecord) =>
    beforeInvocationEnds(async () => {
      const message = parseReconcileMessage(record.body);
      if (message.kind === 'refund') return (await refundReconciler()).check(message.check);
      const payments = await reconciler();
      try {
        return await payments.check(message.check);
      } catch (error) {
        // A refund check writes its next check every time, so the sweep finds a dead-lettered one soon;
        // an order's chain writes only its bound, which the sweep waits for: hand it over first.
        if (Number(record.attributes.ApproximateReceiveCount) >= RECONCILE_MAX_RECEIVE_COUNT) {
          await payments.handOverToSweep(message.check).catch((cause: unknown) => {
            deps.observability.logger.warn('dead-lettered check not handed to the sweep', {
              outTradeNo: message.check.outTradeNo,
              error: cause instanceof Error ? cause.message : String(cause),
            });
          });
        }
        throw error;
      }
    });
  const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    withInvocationDeadline(context, () => processPartialResponse(event, check, processor, { context }));
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler(handler);
}

export function createSweepHandler(deps: Dependencies): SweepHandler {
  const sweeper = buildSweeper(deps);
  return middy<unknown, { enqueued: number }>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler(async () => ({ enqueued: await sweeper.sweep() }));
}

/**
 * The table stream's consumer: each order or refund change becomes its event, recorded and handed to
 * the outlets, strictly in the stream's order (stream-changes.ts). Needs only the table; the outlets
 * are those WEBHOOK_QUEUE_URL and EVENT_BUS_NAME name.
 */
export function createEventsHandler(deps: Dependencies): EventsHandler {
  const recorder = buildEventRecorder(deps);
  const { logger } = deps.observability;
  const onFailure = (detail: Record<string, unknown>) =>
    logger.error('stream record not recorded; the stream retries from it', detail);
  const onCutShort = (detail: Record<string, unknown>) =>
    logger.warn('batch stopped before the invocation ends; the stream goes on from the next record', detail);
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler((event, context) =>
      withInvocationDeadline(context, () => recordStreamChanges(event.Records, { recorder, onFailure, onCutShort })),
    );
}

/**
 * The webhook queue's consumer: messages one after the other in the queue's order; a failed one fails
 * the rest of its message group in the batch (they come back after it, in order), other groups go on.
 * The signing secret is read before the first batch: a bad one fails the invocation (the Lambda error
 * alarm), not each message.
 */
export function createWebhooksHandler(deps: Dependencies): WebhooksHandler {
  const delivery = buildWebhookDelivery(deps);
  const processor = new SqsFifoPartialProcessorAsync();
  const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const webhooks = await delivery();
    return processPartialResponse(event, (record: SQSRecord) => webhooks.deliver(record), processor, {
      context,
      skipGroupOnError: true,
      // A receiver that is down fails every message: that is the retries' business, not an error of
      // this function (which would raise its alarm and hold the queue's receives for nothing).
      throwOnFullBatchFailure: false,
    });
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler(handler);
}

/**
 * The bills function: WeChat's trade bill of a day against the records here (README "Bill
 * reconciliation"). An HTTP request on BILL_ROUTES is answered as the orders API answers (errors by
 * http-errors.ts: a bill not ready yet is a 409 with retry-after, a refused bill a 502); the daily
 * schedule's event reconciles the day before, unless it has a report already, and fails the invocation
 * only for what an operator must see (a bill not ready is a warning: the next run asks again). Needs
 * the table and the merchant's credentials, nothing else.
 */
export function createBillsHandler(deps: Dependencies): BillsHandler {
  const { logger, metrics } = deps.observability;
  const reconciliations = observedReconciliations(
    buildReconcileBill(deps),
    () => deps.reconciliationStore(),
    deps.observability,
  );
  const api = { clock: deps.clock, reconciliations };
  const handle = async (
    event: APIGatewayProxyEventV2 | ScheduledEvent,
  ): Promise<APIGatewayProxyStructuredResultV2 | ScheduledRunOutcome> => {
    if (isScheduledEvent(event)) return runScheduledReconciliation(event, { reconciliations, logger });
    try {
      return await routeBills(event, api);
    } catch (error) {
      return answerError(logger, event.routeKey, error);
    }
  };
  const handler = middy<
    APIGatewayProxyEventV2 | ScheduledEvent,
    APIGatewayProxyStructuredResultV2 | ScheduledRunOutcome
  >()
    .use(injectLambdaContext(logger))
    .use(publishMetrics(metrics))
    .handler((event, context) => withInvocationDeadline(context, () => handle(event)));
  // Each kind of event gets its own kind of answer (handle's branches): said by the overloads.
  return handler as BillsHandler;
}

/**
 * All the handlers over one set of dependencies: what the local stack serves. Without
 * MERCHANT_WEBHOOK_URL there are no webhooks to deliver, so the webhooks handler is a refusal rather
 * than a reason not to start.
 */
export function createHandlers(settings: Settings, overrides?: DependencyOverrides): Handlers {
  const deps = createDependencies(settings, overrides);
  return {
    orders: createOrdersHandler(deps),
    notify: createNotifyHandler(deps),
    reconcile: createReconcileHandler(deps),
    sweep: createSweepHandler(deps),
    events: createEventsHandler(deps),
    bills: createBillsHandler(deps),
    webhooks:
      settings.MERCHANT_WEBHOOK_URL === undefined
        ? () => Promise.reject(new ConfigurationError('MERCHANT_WEBHOOK_URL is required to deliver webhooks'))
        : createWebhooksHandler(deps),
  };
}
