import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/**
 * Flushes the invocation's metrics as one EMF line, after success or failure. Powertools' own
 * logMetrics warns on every invocation that added none, which is nearly all of them here (metrics
 * count rejections and races), so it would bury the warnings that matter.
 */
export function publishMetrics(metrics: Metrics): MiddlewareObj {
  const publish = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
