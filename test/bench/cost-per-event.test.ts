import { describe, expect, it } from 'vitest';

import { type EventCostResult, eventCostJson, renderEventCost } from '#bench/cost-per-event';
import { costPerMillion, type UsagePerOrder } from '#bench/prices';

const spread = (p50: number, p99: number) => ({ p50, p99, max: p99 });
const usage: UsagePerOrder = {
  functions: [
    { name: 'events', invocations: 0.96, billedMs: 180, memoryMb: 256 },
    { name: 'webhooks', invocations: 1, billedMs: 19, memoryMb: 256 },
  ],
  apiGatewayRequests: 0,
  dynamodbReadUnits: 0,
  dynamodbWriteUnits: 2,
  sqsRequests: 3,
  logBytes: 1.96 * 300,
};

function result(overrides: Partial<EventCostResult> = {}): EventCostResult {
  return {
    orders: 50,
    events: 50,
    seconds: 6.237,
    eventWriteRequests: 1,
    eventWriteUnits: 2,
    eventWriteUnitsTable: 1,
    eventWriteUnitsIndexes: 1,
    eventReadRequests: 0,
    eventReadUnits: 0,
    eventsInvocationsPerEvent: 0.96,
    webhooksInvocationsPerEvent: 1,
    invocationsPerEvent: 1.96,
    eventsHandlerMeanMs: 185.591,
    recordsPerEventsInvocation: 7.04,
    messagesPerWebhooksInvocation: 1,
    webhooksHandlerMeanMs: 18.38,
    eventsBilledMsPerEvent: 180,
    webhooksBilledMsPerEvent: 19,
    wechatCallsPerEvent: 0,
    usage,
    costPerMillion: costPerMillion(usage),
    sqsRequestsPerEvent: 3,
    sqsByOpPerEvent: { SendMessage: 1, ReceiveMessage: 1, DeleteMessageBatch: 1 },
    streamRequests: 50,
    webhookAttempts: 50,
    latencyMs: spread(2076.4, 2596),
    recordLatencyMs: spread(1998, 2548),
    queueLatencyMs: spread(72, 464),
    outbox: {
      samples: 50,
      updateUnits: 3,
      transactionUnits: 10,
      outboxExtraUnits: 7,
      streamExtraUnits: 2,
      transactionCapacityReported: true,
    },
    ...overrides,
  };
}

describe('cost-per-event JSON', () => {
  it('starts with the tracked snake_case keys, in a fixed order, rounded to hundredths', () => {
    const json = eventCostJson(result());
    expect(Object.keys(json)).toEqual([
      'event_write_units',
      'event_write_requests',
      'invocations_per_event',
      'delivery_latency_p50_ms',
      'delivery_latency_p99_ms',
      'outbox_extra_write_units',
      'stream_extra_write_units',
      'cost_per_million_events_usd',
      'detail',
    ]);
    expect(json).toMatchObject({
      event_write_units: 2,
      invocations_per_event: 1.96,
      delivery_latency_p50_ms: 2076.4,
      outbox_extra_write_units: 7,
      stream_extra_write_units: 2,
      cost_per_million_events_usd: Math.round(costPerMillion(usage).total * 100) / 100,
      detail: { seconds: 6.24, events_handler_mean_ms: 185.59, transition_update_write_units: 3 },
    });
  });

  it('writes null, not NaN, for a latency with no samples and a split DynamoDB did not report', () => {
    const json = eventCostJson(
      result({ latencyMs: spread(Number.NaN, Number.NaN), eventWriteUnitsTable: undefined }),
    ) as { delivery_latency_p50_ms: unknown; detail: Record<string, unknown> };
    expect(json.delivery_latency_p50_ms).toBeNull();
    expect(json.detail.event_write_units_table).toBeNull();
    expect(JSON.stringify(json)).not.toContain('NaN');
  });

  it('prints both designs’ extra write units side by side', () => {
    const text = renderEventCost(result());
    expect(text).toContain('one conditional UpdateItem            3 WCU');
    expect(text).toContain('outbox 7 WCU, stream (event put) 2 WCU');
    expect(renderEventCost(result({ outbox: { ...result().outbox, transactionCapacityReported: false } }))).toContain(
      'not reported by DynamoDB Local',
    );
  });
});
