import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  LambdaFunctionURLEvent,
  LambdaFunctionURLResult,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import type { Settings } from '../config/settings';
import {
  createDependencies,
  buildPaymentUseCases,
  buildReceiveNotification,
  buildReceiveRefundNotification,
  buildRefundReconciler,
  buildRefundUseCases,
  buildReconciler,
  buildSweeper,
  type DependencyOverrides,
  type Dependencies,
} from './dependencies';
import { httpErrors } from './http-errors';
import { beforeInvocationEnds, withInvocationDeadline } from './invocation-deadline';
import { handleNotify } from './notify-endpoint';
import { routeOrders } from './orders-api';
import { publishMetrics } from './publish-metrics';
import { parseReconcileMessage } from './reconcile-message';

export type OrdersHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;
export type NotifyHandler = (event: LambdaFunctionURLEvent, context: Context) => Promise<LambdaFunctionURLResult>;
export type ReconcileHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type SweepHandler = (event: unknown, context: Context) => Promise<{ enqueued: number }>;

export interface Handlers {
  orders: OrdersHandler;
  notify: NotifyHandler;
  reconcile: ReconcileHandler;
  sweep: SweepHandler;
}

/** Each builder takes what its function needs at start-up: a missing setting fails the cold start. */
export function createOrdersHandler(deps: Dependencies): OrdersHandler {
  const api = { clock: deps.clock, useCases: buildPaymentUseCases(deps), refunds: buildRefundUseCases(deps) };
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
  return middy<LambdaFunctionURLEvent, LambdaFunctionURLResult>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler((event, context) => withInvocationDeadline(context, () => handleNotify(event, endpoint)));
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
      return message.kind === 'refund'
        ? (await refundReconciler()).check(message.check)
        : (await reconciler()).check(message.check);
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

/** All four handlers over one set of dependencies: what the local stack serves. */
export function createHandlers(settings: Settings, overrides?: DependencyOverrides): Handlers {
  const deps = createDependencies(settings, overrides);
  return {
    orders: createOrdersHandler(deps),
    notify: createNotifyHandler(deps),
    reconcile: createReconcileHandler(deps),
    sweep: createSweepHandler(deps),
  };
}
