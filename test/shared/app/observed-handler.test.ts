import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { observedHandler } from '#shared/app/observed-handler';

function contextOf(awsRequestId: string): Context {
  return {
    functionName: 'notify',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:notify',
    memoryLimitInMB: '512',
    awsRequestId,
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context;
}

function setup(body: (metrics: Metrics, logger: Logger) => void) {
  const lines: string[] = [];
  const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
  // Where the logger prints its JSON lines (its own Console on stdout).
  const printer = (logger as unknown as { console: Console }).console;
  vi.spyOn(printer, 'warn').mockImplementation((line: string) => void lines.push(line));
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
  const publish = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    metrics.clearMetrics();
    return metrics;
  });
  const handler = observedHandler({ logger, metrics }, async (event: string) => {
    body(metrics, logger);
    return `done ${event}`;
  });
  const logged = () => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { handler, publish, logged };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('observedHandler', () => {
  it("puts each invocation's context on the log lines it writes", async () => {
    const { handler, logged } = setup((_m, logger) => logger.warn('seen'));
    await expect(handler('a', contextOf('request-1'))).resolves.toBe('done a');
    await handler('b', contextOf('request-2'));
    const seen = logged().filter((l) => l.message === 'seen');
    expect(seen.map((l) => l.function_request_id)).toEqual(['request-1', 'request-2']);
    expect(seen[0]).toMatchObject({ function_name: 'notify', function_memory_size: '512' });
  });

  it('publishes after an invocation that added a metric, and stays quiet after one that added none', async () => {
    let add = true;
    const { handler, publish } = setup((m) => {
      if (add) m.addMetric('RejectedNotifications', MetricUnit.Count, 1);
    });
    await handler('a', contextOf('r1'));
    expect(publish).toHaveBeenCalledTimes(1);
    add = false;
    await handler('b', contextOf('r2'));
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('still publishes when the handler throws, and lets the error through', async () => {
    const { handler, publish } = setup((m) => {
      m.addMetric('NotificationsNotStored', MetricUnit.Count, 1);
      throw new Error('boom');
    });
    await expect(handler('a', contextOf('r1'))).rejects.toThrow('boom');
    expect(publish).toHaveBeenCalledTimes(1);
  });
});
