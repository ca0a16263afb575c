import type { LatencyResult } from './api-latency';
import { type BillReconcileResult, billReconcileJson } from './bill-reconcile';
import type { ColdStartResult } from './cold-start';
import type { CostResult, PhaseResult } from './cost-per-payment';
import type { NotifyResult } from './notify-throughput';
import type { SigningResult } from './signing';
import { significant } from './stats';
import { checkTargets, type TargetResult } from './targets';

/** What one run found: the parts that ran (null for those left out). */
export interface BenchResults {
  coldStart: ColdStartResult | null;
  notify: NotifyResult | null;
  signing: SigningResult | null;
  cost: CostResult | null;
  latency: LatencyResult | null;
  /** Part 6; optional so results made before it existed still type. */
  bill?: BillReconcileResult | null;
}

export interface RunInfo {
  quick: boolean;
  parts: string[];
  seconds: number;
  node: string;
  cpus: number;
  loadAverage: number[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const r3 = (x: number | null | undefined): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? significant(x, 3) : null;
const round = (x: number | null | undefined, digits = 2): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

function phaseJson(phase: PhaseResult | null | undefined): Json {
  if (!phase) return null;
  const p = phase.perOrder;
  return {
    orders: phase.counts.orders,
    completed: phase.counts.completed,
    lambda_invocations: round(p.lambdaInvocations),
    lambda_by_function: Object.fromEntries(Object.entries(p.lambdaByFunction).map(([k, v]) => [k, round(v)])),
    dynamodb_reads: round(p.dynamodbReads),
    dynamodb_writes: round(p.dynamodbWrites),
    dynamodb_read_units: round(p.dynamodbReadUnits),
    dynamodb_write_units: round(p.dynamodbWriteUnits),
    dynamodb_by_op: Object.fromEntries(
      Object.entries(phase.counts.dynamodb.byOp).map(([k, v]) => [k, round(v / Math.max(phase.counts.orders, 1))]),
    ),
    sqs_requests: round(p.sqsRequests),
    sqs_by_op: Object.fromEntries(
      Object.entries(phase.counts.sqs.byOp).map(([k, v]) => [k, round(v / Math.max(phase.counts.orders, 1))]),
    ),
    sqs_empty_receives: round(p.sqsEmptyReceives),
    wechat_calls: round(p.wechatCalls),
    wechat_by_op: Object.fromEntries(Object.entries(p.wechatByOp).map(([k, v]) => [k, round(v)])),
    api_gateway_requests: round(p.apiGatewayRequests),
    mean_duration_ms: Object.fromEntries(Object.entries(phase.counts.lambda).map(([k, v]) => [k, round(v.meanMs, 1)])),
    cost_per_million_usd: round(phase.costPerMillion.total),
    cost_breakdown_usd: Object.fromEntries(
      Object.entries(phase.costPerMillion.byService).map(([k, v]) => [k, round(v, 3)]),
    ),
  };
}

/** The headline numbers the issue tracks from run to run, by their agreed names. */
export function headline(results: BenchResults): Record<string, number | null> {
  const stack = results.coldStart?.modes.find((m) => m.mode === results.coldStart?.stackMode);
  const s = results.signing;
  return {
    init_ratio: r3(stack?.initRatio),
    notify_ratio: r3(results.notify?.notifyRatio),
    notify_per_second: r3(results.notify?.notify.perSecond),
    sign_vs_crypto: r3(s?.signVsCrypto.hmacSha256),
    max_bundle_bytes: stack?.maxBundleBytes ?? null,
    lambda_invocations_per_paid_order: round(results.cost?.paid.perOrder.lambdaInvocations),
    dynamodb_writes_per_paid_order: round(results.cost?.paid.perOrder.dynamodbWrites),
    cost_per_million_paid_usd: round(results.cost?.paid.costPerMillion.total),
  };
}

/** Part 6's tracked numbers: the whole run (parse + compare) in lines/s, and its peak RSS in MB. */
export function billHeadline(results: BenchResults): Record<string, number | null> {
  const run = results.bill?.reconcile;
  return {
    bill_lines_per_second: run ? Math.round(run.linesPerSecond) : null,
    bill_peak_rss_mb: run ? Math.round(run.memory.rssBytes / 1_000_000) : null,
  };
}

export function targetResults(results: BenchResults): TargetResult[] {
  const s = results.signing;
  return checkTargets({
    ...headline(results),
    ...billHeadline(results),
    sign_vs_tenpay: s?.signVsPeers.tenpay,
    sign_vs_wechatpay_axios_plugin: s?.signVsPeers['wechatpay-axios-plugin'],
  });
}

function latencyJson(latency: LatencyResult | null): Json {
  if (!latency) return null;
  return {
    requests: latency.requests,
    warmup_discarded: latency.warmup,
    trade_types: [...latency.tradeTypes],
    notifications_signed_with: latency.signedWith,
    by_concurrency: Object.fromEntries(
      latency.runs.map((r) => [
        String(r.concurrency),
        {
          ...Object.fromEntries(
            r.operations.map((o) => [
              o.operation,
              {
                count: o.count,
                latency_ms: { p50: round(o.p50, 1), p99: round(o.p99, 1), max: round(o.max, 1) },
                per_second: r3(o.perSecond),
                failures: o.failures,
              },
            ]),
          ),
          paid_afterwards: r.paidAfterwards,
        },
      ]),
    ),
  };
}

/**
 * The one JSON object of `--json`: the headline keys first, then the detail; parts added later
 * come after `failures`, so the keys consumers already read keep their place.
 */
export function toJson(results: BenchResults, run: RunInfo, failures: string[]): Record<string, Json> {
  const cs = results.coldStart;
  const n = results.notify;
  const s = results.signing;
  const c = results.cost;
  const modeJson = (mode: NonNullable<typeof cs>['modes'][number]): Json => ({
    sdk: mode.mode,
    init_ratio: r3(mode.initRatio),
    max_bundle_bytes: mode.maxBundleBytes,
    floor: { bytes: mode.floor.bytes, median_init_ms: round(mode.floor.medianInitMs, 1) },
    functions: Object.fromEntries(
      mode.functions.map((f) => [
        f.name,
        {
          bytes: f.bytes,
          median_init_ms: round(f.medianInitMs, 1),
          init_ratio: r3(f.initRatio),
          largest_inputs: f.largestInputs.map((i) => ({ input: i.input, bytes: i.bytes })),
        },
      ]),
    ),
  });
  return {
    ...headline(results),
    targets: targetResults(results).map((t) => ({
      key: t.key,
      goal: t.goal,
      value: t.key === 'max_bundle_bytes' ? t.value : r3(t.value),
      verdict: t.verdict,
    })),
    cold_start: cs
      ? { stack_sdk_mode: cs.stackMode, runs: cs.runs, node: cs.nodeVersion, modes: cs.modes.map(modeJson) }
      : null,
    notify: n
      ? {
          orders: n.orders,
          concurrency: n.concurrency,
          orders_seeded_directly: n.seededDirectly,
          signed_with: n.signedWith,
          per_second: r3(n.notify.perSecond),
          latency_ms: {
            p50: round(n.notify.latencyMs.p50, 1),
            p99: round(n.notify.latencyMs.p99, 1),
            max: round(n.notify.latencyMs.max, 1),
          },
          failures: n.notify.failures,
          paid_afterwards: n.notify.paidAfterwards,
          event_loop_utilization: round(n.notify.eventLoopUtilization),
          busy_ms_per_notification: round(n.notify.busyMsPerNotification, 3),
          floor_event_loop_utilization: round(n.floor.eventLoopUtilization),
          floor_updates_per_second: r3(n.floor.perSecond),
          floor_runs_per_second: n.floor.runs.map((x) => r3(x)),
          duplicate_storm: {
            copies: n.storm.copies,
            per_second: r3(n.storm.perSecond),
            latency_ms: { p50: round(n.storm.latencyMs.p50, 1), p99: round(n.storm.latencyMs.p99, 1) },
            failures: n.storm.failures,
            paid_transitions: n.storm.paidTransitions,
            notifications_recorded: n.storm.notificationsRecorded,
          },
        }
      : null,
    signing: s
      ? {
          sign_vs_crypto_hmac_sha256: r3(s.signVsCrypto.hmacSha256),
          sign_vs_crypto_md5: r3(s.signVsCrypto.md5),
          verify_vs_crypto_hmac_sha256: r3(s.verifyVsCrypto.hmacSha256),
          sign_vs_peers: Object.fromEntries(Object.entries(s.signVsPeers).map(([k, v]) => [k, r3(v)])),
          notification_vs_peers: Object.fromEntries(Object.entries(s.notificationVsPeers).map(([k, v]) => [k, r3(v)])),
          v3: {
            rsa_verify_vs_crypto: r3(s.v3.rsaVerifyVsCrypto),
            aes_gcm_vs_crypto: r3(s.v3.aesGcmVsCrypto),
            notification_vs_crypto: r3(s.v3.notificationVsCrypto),
          },
          peers: s.peers,
          ops_per_second: Object.fromEntries(
            s.rows.map((row) => [row.id, row.opsPerSecond === null ? null : Math.round(row.opsPerSecond)]),
          ),
          notes: Object.fromEntries(
            s.rows.filter((row) => row.note !== undefined).map((row) => [row.id, row.note as string]),
          ),
        }
      : null,
    cost: c
      ? {
          per_paid_order: phaseJson(c.paid),
          per_expired_order: phaseJson(c.expired),
          cost_per_million_expired_usd: round(c.expired?.costPerMillion.total),
          prices: { ...c.prices },
          assumptions: c.assumptions,
        }
      : null,
    run: {
      quick: run.quick,
      parts: run.parts,
      seconds: round(run.seconds, 1),
      node: run.node,
      cpus: run.cpus,
      load_average: run.loadAverage.map((x) => round(x)),
    },
    failures,
    latency: latencyJson(results.latency),
    ...billHeadline(results),
    bill: results.bill ? (billReconcileJson(results.bill) as Json) : null,
  };
}
