import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

import { publishMetrics } from '#shared/app/publish-metrics';

const context = {} as Context;

function setup(body: (metrics: Metrics) => void) {
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
  const publish = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const handler = middy<unknown, string>()
    .use(publishMetrics(metrics))
    .handler(async () => {
      body(metrics);
      return 'done';
    });
  return { handler, publish };
}

describe('publishMetrics', () => {
  it('publishes after an invocation that added a metric', async () => {
    const { handler, publish } = setup((m) => m.addMetric('RejectedNotifications', MetricUnit.Count, 1));
    await expect(handler(undefined, context)).resolves.toBe('done');
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('stays quiet after an invocation that added none', async () => {
    const { handler, publish } = setup(() => undefined);
    await handler(undefined, context);
    expect(publish).not.toHaveBeenCalled();
  });

  it('still publishes when the handler throws, and lets the error through', async () => {
    const { handler, publish } = setup((m) => {
      m.addMetric('PaidAtExpiryRace', MetricUnit.Count, 1);
      throw new Error('boom');
    });
    await expect(handler(undefined, context)).rejects.toThrow('boom');
    expect(publish).toHaveBeenCalledTimes(1);
  });
});
