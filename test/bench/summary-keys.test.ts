import { describe, expect, it } from 'vitest';

import type { BillReconcileResult } from '#bench/bill-reconcile';
import type { EventCostResult } from '#bench/cost-per-event';
import type { PhaseResult } from '#bench/cost-per-payment';
import type { RefundScenario } from '#bench/cost-per-refund';
import { type Cost, PRICES } from '#bench/prices';
import { formatTargetValue } from '#bench/report';
import { billHeadline, type BenchResults, eventHeadline, headline, refundHeadline, toJson } from '#bench/summary';
import { phaseCounts } from '#test/helpers/bench-phase-counts';

const cost = (total: number): Cost => ({
  total,
  byService: { lambdaRequests: 0, lambdaCompute: 0, apiGateway: 0, dynamodb: total, sqs: 0, logs: 0 },
});

function phase(writeUnits: number, total: number, extra: Partial<PhaseResult> = {}): PhaseResult {
  const counts = phaseCounts();
  return {
    counts,
    perOrder: {
      lambdaInvocations: 1,
      lambdaByFunction: {},
      dynamodbReads: 0,
      dynamodbWrites: 0,
      dynamodbReadUnits: 0,
      dynamodbWriteUnits: writeUnits,
      dynamodbWriteUnitsByOp: { PutItem: writeUnits },
      dynamodbReadUnitsByOp: {},
      sqsRequests: 0,
      sqsEmptyReceives: 0,
      wechatCalls: 0,
      wechatByOp: {},
      apiGatewayRequests: 1,
    },
    usage: {
      functions: [],
      apiGatewayRequests: 1,
      dynamodbReadUnits: 0,
      dynamodbWriteUnits: writeUnits,
      sqsRequests: 0,
      logBytes: 0,
    },
    costPerMillion: cost(total),
    ...extra,
  };
}

const billPhase = (linesPerSecond: number, rssBytes: number) => ({
  seconds: 1,
  cpuSeconds: 1,
  linesPerSecond,
  memory: { rssBytes, heapUsedBytes: 0, startRssBytes: 0, startHeapUsedBytes: 0 },
});

const run = { quick: true, parts: ['cost'], seconds: 1, node: 'v20', cpus: 2, loadAverage: [0, 0, 0] };

describe('the tracked keys of parts 4, 6, 7 and 8', () => {
  const expired = phase(6.5, 14.25, {
    measuredCostPerMillion: cost(10),
    modelled: {
      hopsPerOrder: 4,
      messagesPerInvocation: 2,
      receivesPerMessage: 0.5,
      deletesPerMessage: 0.5,
      sendMessageMs: 5,
      lambdaInvocations: 2,
      lambdaBilledMs: 20,
      sqsRequests: 8,
      costPerMillion: cost(4.25),
    },
  });
  const refund = (name: string, units: number, total: number): RefundScenario => {
    const p = phase(units, total);
    return { name, refunds: 10, completed: 10, seconds: 3, perRefund: p.perOrder, phase: p };
  };
  const results: BenchResults = {
    coldStart: null,
    notify: null,
    signing: null,
    latency: null,
    cost: { paid: phase(9, 12.5), expired, prices: PRICES, assumptions: [] },
    refund: [refund('notified', 5, 7.5), refund('dropped', 8, 11)],
    event: { eventWriteUnits: 2, costPerMillion: cost(3.21) } as unknown as EventCostResult,
    bill: { parse: billPhase(250_000.4, 90_400_000), reconcile: billPhase(34_100, 800_000_000) } as BillReconcileResult,
  };

  it('gives the expired order’s write units and its cost, the modelled messages included, beside the paid one', () => {
    expect(headline(results)).toMatchObject({
      cost_per_million_paid_usd: 12.5,
      expired_order_wru: 6.5,
      cost_per_million_expired_usd: 14.25,
    });
  });

  it('follows the notified refund, and gives each scenario in the detail', () => {
    expect(refundHeadline(results)).toEqual({ cost_per_million_refunds_usd: 7.5, refund_write_units: 5 });
    const json = toJson({ ...results, event: null, bill: null }, run, []) as {
      refund: { scenarios: Record<string, { refunds: number; dynamodb_write_units_by_op: unknown }> };
    };
    expect(json.refund.scenarios.dropped).toMatchObject({ refunds: 10, dynamodb_write_units_by_op: { PutItem: 8 } });
  });

  it('gives the event’s cost and write units, and the bill parse alone', () => {
    expect(eventHeadline(results)).toEqual({ cost_per_million_events_usd: 3.21, event_write_units: 2 });
    expect(billHeadline(results)).toEqual({
      bill_lines_per_second: 34_100,
      bill_peak_rss_mb: 800,
      bill_parse_lines_per_second: 250_000,
      bill_parse_peak_rss_mb: 90,
    });
  });

  it('shows the measured cost and the modelled messages apart in the expired order’s detail', () => {
    const json = toJson({ ...results, event: null, bill: null }, run, []) as {
      cost: { per_expired_order: Record<string, unknown>; per_paid_order: Record<string, unknown> };
    };
    expect(json.cost.per_expired_order).toMatchObject({
      cost_per_million_usd: 14.25,
      measured_cost_per_million_usd: 10,
      modelled_hops: { hops_per_order: 4, cost_per_million_usd: 4.25 },
      dynamodb_write_units_by_op: { PutItem: 6.5 },
    });
    expect(json.cost.per_paid_order).not.toHaveProperty('modelled_hops');
  });

  it('writes null for the parts that did not run', () => {
    const empty: BenchResults = { coldStart: null, notify: null, signing: null, cost: null, latency: null };
    expect({ ...refundHeadline(empty), ...eventHeadline(empty), ...billHeadline(empty) }).toEqual({
      cost_per_million_refunds_usd: null,
      refund_write_units: null,
      cost_per_million_events_usd: null,
      event_write_units: null,
      bill_lines_per_second: null,
      bill_peak_rss_mb: null,
      bill_parse_lines_per_second: null,
      bill_parse_peak_rss_mb: null,
    });
  });
});

describe('target values in the report', () => {
  it('reads each in its unit', () => {
    expect(formatTargetValue('cost_per_million_expired_usd', 14.256)).toBe('$14.26');
    expect(formatTargetValue('expired_order_wru', 6.5)).toBe('6.50');
    expect(formatTargetValue('bill_peak_rss_mb', 800)).toBe('800 MB');
    expect(formatTargetValue('notify_ratio', 0.5)).toBe('0.50×');
    expect(formatTargetValue('init_ratio', null)).toBe('—');
  });
});
