import { describe, expect, it } from 'vitest';

import type { LatencyResult } from '#bench/api-latency';
import { formatBytes, formatRatio, renderReport, table } from '#bench/report';
import { type BenchResults, toJson } from '#bench/summary';
import { checkTargets } from '#bench/targets';

describe('checkTargets', () => {
  it('passes a value on the right side of each target and misses one on the wrong side', () => {
    const results = checkTargets({
      init_ratio: 1.3,
      max_bundle_bytes: 10_000_000,
      notify_ratio: 0.49,
      sign_vs_crypto: 0.8,
      sign_vs_tenpay: 1,
      sign_vs_wechatpay_axios_plugin: 1.01,
      lambda_invocations_per_paid_order: 3,
      dynamodb_writes_per_paid_order: 4.01,
      bill_lines_per_second: 1_111,
      bill_peak_rss_mb: 1_769,
      expired_order_wru: 12,
      cost_per_million_expired_usd: 15.01,
    });
    expect(Object.fromEntries(results.map((r) => [r.key, r.verdict]))).toEqual({
      init_ratio: 'PASS',
      notify_ratio: 'MISS',
      sign_vs_crypto: 'PASS',
      sign_vs_tenpay: 'MISS',
      sign_vs_wechatpay_axios_plugin: 'PASS',
      lambda_invocations_per_paid_order: 'PASS',
      dynamodb_writes_per_paid_order: 'MISS',
      bill_lines_per_second: 'MISS',
      bill_peak_rss_mb: 'PASS',
      expired_order_wru: 'PASS',
      cost_per_million_expired_usd: 'MISS',
    });
  });

  it('says n/a, not PASS, for a part that did not run', () => {
    const results = checkTargets({ init_ratio: null, notify_ratio: Number.NaN });
    expect(results.every((r) => r.verdict === 'n/a' && r.value === null)).toBe(true);
  });
});

describe('table', () => {
  it('aligns text left and numbers right, under a rule as wide as each column', () => {
    const out = table(
      ['name', 'ops/s'],
      [
        ['ours', '1,234'],
        ['tenpay', '56'],
      ],
    );
    expect(out.split('\n')).toEqual(['name    ops/s', '------  -----', 'ours    1,234', 'tenpay     56']);
  });

  it('formats bytes in kB of 1,000 bytes and ratios with two decimals', () => {
    expect(formatBytes(627_022)).toBe('627.0 kB');
    expect(formatBytes(null)).toBe('—');
    expect(formatRatio(1.5512)).toBe('1.55×');
    expect(formatRatio(null)).toBe('—');
  });
});

describe('part 5 in the report and the JSON', () => {
  const op = (operation: 'create' | 'get' | 'notify', label: string, p50: number) => ({
    operation,
    label,
    count: 300,
    p50,
    p99: p50 * 2,
    max: p50 * 3,
    perSecond: 1000 / p50,
    failures: 0,
  });
  const latency: LatencyResult = {
    requests: 300,
    warmup: 10,
    tradeTypes: ['NATIVE', 'JSAPI'],
    signedWith: 'MD5',
    runs: [1, 8].map((concurrency) => ({
      concurrency,
      operations: [
        op('create', 'POST /orders', 20),
        op('get', 'GET /orders/{out_trade_no}', 5),
        op('notify', 'POST /notify/pay (v2 paid)', 10),
      ],
      paidAfterwards: 300,
    })),
  };
  const results: BenchResults = { coldStart: null, notify: null, signing: null, cost: null, latency };
  const run = { quick: false, parts: ['latency'], seconds: 12, node: 'v20.0.0', cpus: 2, loadAverage: [0, 0, 0] };

  it('keeps the tracked keys first and adds `latency` after every key that was there before', () => {
    const keys = Object.keys(toJson(results, run, []));
    expect(keys.slice(0, 10)).toEqual([
      'init_ratio',
      'notify_ratio',
      'notify_per_second',
      'sign_vs_crypto',
      'max_bundle_bytes',
      'lambda_invocations_per_paid_order',
      'dynamodb_writes_per_paid_order',
      'cost_per_million_paid_usd',
      'expired_order_wru',
      'cost_per_million_expired_usd',
    ]);
    expect(keys.slice(10)).toEqual([
      'targets',
      'cold_start',
      'notify',
      'signing',
      'cost',
      'run',
      'failures',
      'latency',
      'bill_lines_per_second',
      'bill_peak_rss_mb',
      'bill_parse_lines_per_second',
      'bill_parse_peak_rss_mb',
      'bill',
      'cost_per_million_refunds_usd',
      'refund_write_units',
      'refund',
      'cost_per_million_events_usd',
      'event_write_units',
      'event',
    ]);
  });

  it('gives count, p50, p99, max and requests/s per operation and concurrency', () => {
    const json = toJson(results, run, []) as { latency: { by_concurrency: Record<string, Record<string, unknown>> } };
    expect(json.latency.by_concurrency['8']?.get).toEqual({
      count: 300,
      latency_ms: { p50: 5, p99: 10, max: 15 },
      per_second: 200,
      failures: 0,
    });
    expect(json.latency.by_concurrency['1']?.paid_afterwards).toBe(300);
  });

  it('prints a row per operation and concurrency', () => {
    const section =
      renderReport(results, run)
        .split('\n\n')
        .find((s) => s.startsWith('5. API latency')) ?? '';
    const rows = section.split('\n').slice(3);
    expect(rows).toHaveLength(6);
    expect(rows[5]).toMatch(
      /^POST \/notify\/pay \(v2 paid\)\s+8\s+300\s+10\.0\s+20\.0\s+30\.0\s+100\s+0 failed, 300\/300 PAID after$/,
    );
  });
});
