import type { LatencyResult } from './api-latency';
import { type BillReconcileResult, billReconcileJson } from './bill-reconcile';
import type { ColdStartResult } from './cold-start';
import { type EventCostResult, eventCostJson } from './cost-per-event';
import type { CostResult, ModelledHops, PhaseResult } from './cost-per-payment';
import type { RefundScenario } from './cost-per-refund';
import type { Tally } from './counting-proxy';
import type { Cost } from './prices';
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
  /** Part 7: one entry per scenario (notified, dropped). */
  refund?: RefundScenario[] | null;
  /** Part 8. */
  event?: EventCostResult | null;
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

const perOp = (record: Record<string, number>): Json =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, round(v)]));

/** Mean milliseconds per request of each operation, as the counting proxies timed them. */
function meanMsByOp(...tallies: Tally[]): Json {
  return Object.fromEntries(
    tallies.flatMap((t) =>
      Object.entries(t.msByOp)
        .filter(([op]) => (t.byOp[op] ?? 0) > 0)
        .map(([op, ms]) => [op, round(ms / (t.byOp[op] ?? 1), 1)]),
    ),
  );
}

function costJson(cost: Cost): Json {
  return Object.fromEntries(Object.entries(cost.byService).map(([k, v]) => [k, round(v, 3)]));
}

function modelledJson(m: ModelledHops | undefined): Json {
  if (m === undefined) return null;
  return {
    hops_per_order: m.hopsPerOrder,
    messages_per_invocation: round(m.messagesPerInvocation),
    receives_per_message: round(m.receivesPerMessage),
    deletes_per_message: round(m.deletesPerMessage),
    send_message_ms: round(m.sendMessageMs, 1),
    lambda_invocations: round(m.lambdaInvocations),
    lambda_billed_ms: round(m.lambdaBilledMs, 1),
    sqs_requests: round(m.sqsRequests),
    cost_per_million_usd: round(m.costPerMillion.total),
    cost_breakdown_usd: costJson(m.costPerMillion),
  };
}

/** A phase's counts per unit (an order, or a refund for part 7, whose count is then keyed `refunds`). */
export function phaseJson(phase: PhaseResult | null | undefined, unit: 'orders' | 'refunds' = 'orders'): Json {
  if (!phase) return null;
  const p = phase.perOrder;
  const c = phase.counts;
  const reconcileMessages = c.lambda.reconcile.records;
  return {
    [unit]: phase.counts.orders,
    completed: phase.counts.completed,
    lambda_invocations: round(p.lambdaInvocations),
    lambda_by_function: Object.fromEntries(Object.entries(p.lambdaByFunction).map(([k, v]) => [k, round(v)])),
    dynamodb_reads: round(p.dynamodbReads),
    dynamodb_writes: round(p.dynamodbWrites),
    dynamodb_read_units: round(p.dynamodbReadUnits),
    dynamodb_write_units: round(p.dynamodbWriteUnits),
    dynamodb_write_units_by_op: perOp(p.dynamodbWriteUnitsByOp),
    dynamodb_read_units_by_op: perOp(p.dynamodbReadUnitsByOp),
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
    reconcile_messages_per_invocation:
      reconcileMessages === undefined || c.lambda.reconcile.invocations === 0
        ? null
        : round(reconcileMessages / c.lambda.reconcile.invocations),
    mean_request_ms_by_op: meanMsByOp(c.dynamodb, c.sqs, c.wechat),
    event_loop_delay_ms: c.eventLoopDelayMs
      ? {
          mean: round(c.eventLoopDelayMs.mean, 1),
          p50: round(c.eventLoopDelayMs.p50, 1),
          p99: round(c.eventLoopDelayMs.p99, 1),
          max: round(c.eventLoopDelayMs.max, 1),
        }
      : null,
    create_concurrency: c.createConcurrency ?? null,
    cost_per_million_usd: round(phase.costPerMillion.total),
    cost_breakdown_usd: costJson(phase.costPerMillion),
    ...(phase.modelled
      ? {
          modelled_hops: modelledJson(phase.modelled),
          measured_cost_per_million_usd: round(phase.measuredCostPerMillion?.total),
        }
      : {}),
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
    expired_order_wru: round(results.cost?.expired?.perOrder.dynamodbWriteUnits),
    cost_per_million_expired_usd: round(results.cost?.expired?.costPerMillion.total),
  };
}

/**
 * Part 6's tracked numbers: the whole run (parse + compare) in lines/s and its peak RSS in MB, then
 * the same for the parse alone (phase a: readTradeBill over the gzip file).
 */
export function billHeadline(results: BenchResults): Record<string, number | null> {
  const run = results.bill?.reconcile;
  const parse = results.bill?.parse;
  return {
    bill_lines_per_second: run ? Math.round(run.linesPerSecond) : null,
    bill_peak_rss_mb: run ? Math.round(run.memory.rssBytes / 1_000_000) : null,
    bill_parse_lines_per_second: parse ? Math.round(parse.linesPerSecond) : null,
    bill_parse_peak_rss_mb: parse ? Math.round(parse.memory.rssBytes / 1_000_000) : null,
  };
}

/** The refund scenario the tracked keys follow: the notification arrives, as it usually does. */
export const TRACKED_REFUND_SCENARIO = 'notified';

/** Part 7's tracked numbers, per refund of the usual scenario. */
export function refundHeadline(results: BenchResults): Record<string, number | null> {
  const tracked = results.refund?.find((s) => s.name === TRACKED_REFUND_SCENARIO)?.phase;
  return {
    cost_per_million_refunds_usd: round(tracked?.costPerMillion.total),
    refund_write_units: round(tracked?.perOrder.dynamodbWriteUnits),
  };
}

/** Part 8's tracked numbers, per event delivered. */
export function eventHeadline(results: BenchResults): Record<string, number | null> {
  const e = results.event;
  return {
    cost_per_million_events_usd: round(e?.costPerMillion.total),
    event_write_units: round(e?.eventWriteUnits),
  };
}

function refundJson(scenarios: RefundScenario[] | null | undefined): Json {
  if (!scenarios) return null;
  return {
    tracked_scenario: TRACKED_REFUND_SCENARIO,
    scenarios: Object.fromEntries(
      scenarios.map((s) => [s.name, { seconds: round(s.seconds, 1), ...(phaseJson(s.phase, 'refunds') as object) }]),
    ),
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
          measured: 'in process (Function URL events to the handler, no gateway)',
          cpu_ms_per_notification: round(n.notify.cpuMsPerNotification, 3),
          floor_cpu_ms_per_update: round(n.floor.cpuMsPerUpdate, 3),
          gateway: {
            per_second: r3(n.gateway.perSecond),
            ratio: r3(n.gatewayRatio),
            latency_ms: {
              p50: round(n.gateway.latencyMs.p50, 1),
              p99: round(n.gateway.latencyMs.p99, 1),
              max: round(n.gateway.latencyMs.max, 1),
            },
            failures: n.gateway.failures,
            paid_afterwards: n.gateway.paidAfterwards,
            event_loop_utilization: round(n.gateway.eventLoopUtilization),
            busy_ms_per_notification: round(n.gateway.busyMsPerNotification, 3),
            cpu_ms_per_notification: round(n.gateway.cpuMsPerNotification, 3),
          },
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
    ...refundHeadline(results),
    refund: refundJson(results.refund),
    ...eventHeadline(results),
    event: results.event ? (eventCostJson(results.event) as Json) : null,
  };
}
