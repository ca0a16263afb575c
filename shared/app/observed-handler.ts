import type { Context } from 'aws-lambda';

import type { Observability } from './observability';

/**
 * A handler with what every invocation owes the logs and metrics, and nothing more: the invocation's
 * context on its log lines (and the event logged when POWERTOOLS_LOGGER_LOG_EVENT asks), debug
 * sampling refreshed, and its metrics published as one EMF line after success or failure, only when
 * it added some (see publish-metrics.ts). What injectLambdaContext and publishMetrics do under middy,
 * without middy's own per-invocation work (its request object, middleware loops and the timer it
 * races every invocation against): the notify function runs once per notification WeChat sends, so
 * that work is paid at its highest rate. A timeout is Lambda's to enforce, as for any function.
 */
export function observedHandler<E, R>(
  observability: Pick<Observability, 'logger' | 'metrics'>,
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  const { logger, metrics } = observability;
  return async (event, context) => {
    logger.refreshSampleRateCalculation();
    logger.addContext(context);
    logger.logEventIfEnabled(event);
    try {
      return await handler(event, context);
    } finally {
      logger.clearBuffer();
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
