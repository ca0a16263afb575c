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
import { createDependencies, type DependencyOverrides, type Dependencies } from './dependencies';
import { handleNotify } from './notify-endpoint';
import { routeOrders } from './orders-api';
import { publishMetrics } from './publish-metrics';
import { parseReconcileCheck } from './reconcile-message';

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

export function createOrdersHandler(deps: Dependencies): OrdersHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler((event) => routeOrders(event, deps));
}

export function createNotifyHandler(deps: Dependencies): NotifyHandler {
  return middy<LambdaFunctionURLEvent, LambdaFunctionURLResult>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler((event) => handleNotify(event, deps));
}

export function createReconcileHandler(deps: Dependencies): ReconcileHandler {
  const processor = new BatchProcessor(EventType.SQS);
  const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const reconciler = await deps.reconciler();
    return processPartialResponse(
      event,
      async (record: SQSRecord) => reconciler.check(parseReconcileCheck(record.body)),
      processor,
      { context },
    );
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(deps.observability.logger))
    .use(publishMetrics(deps.observability.metrics))
    .handler(handler);
}

export function createSweepHandler(deps: Dependencies): SweepHandler {
  return middy<unknown, { enqueued: number }>()
    .use(injectLambdaContext(deps.observability.logger))
    .handler(async () => ({ enqueued: await deps.sweeper.sweep() }));
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
