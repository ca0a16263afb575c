import { renderBillReconcile } from './bill-reconcile';
import { renderEventCost } from './cost-per-event';
import type { PhaseResult } from './cost-per-payment';
import type { BenchResults, RunInfo } from './summary';
import { headline, targetResults, TRACKED_REFUND_SCENARIO } from './summary';

/** The human-readable report: the targets first, then one section per part. */

/** Left-aligns text columns and right-aligns columns whose cells all look numeric. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const width = (i: number) => Math.max(headers[i]?.length ?? 0, ...rows.map((r) => (r[i] ?? '').length));
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[$\d.,]+( ?[a-zA-Z/%×]+)?$|^—$|^$/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(width(i)) : cell.padEnd(width(i))))
      .join('  ')
      .trimEnd();
  const rule = headers.map((_, i) => '-'.repeat(width(i))).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function formatNumber(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Bytes in kB (1 kB = 1,000 bytes). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  return `${(bytes / 1000).toFixed(1)} kB`;
}

export function formatRatio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`;
}

const usd = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `$${x.toFixed(2)}`);

/** A target's value as its unit reads: dollars, MB, counts, or a ratio. */
export function formatTargetValue(key: string, value: number | null): string {
  if (value === null) return '—';
  if (key.startsWith('cost_per_million')) return usd(value);
  if (key.includes('per_paid_order') || key === 'expired_order_wru') return formatNumber(value, 2);
  if (key === 'bill_peak_rss_mb') return `${formatNumber(value)} MB`;
  if (key === 'bill_lines_per_second') return formatNumber(value);
  return formatRatio(value);
}

function targetsSection(results: BenchResults): string {
  const rows = targetResults(results).map((t) => [t.label, formatTargetValue(t.key, t.value), t.goal, t.verdict]);
  return `Targets\n${table(['measure', 'result', 'target', 'status'], rows)}`;
}

function coldStartSection(results: BenchResults): string | undefined {
  const cs = results.coldStart;
  if (!cs) return undefined;
  const parts: string[] = [];
  for (const mode of cs.modes) {
    const label =
      (mode.mode === 'runtime-sdk' ? 'AWS SDK from the Lambda runtime' : 'AWS SDK bundled in (bundleAwsSDK)') +
      (mode.mode === cs.stackMode ? ' (as the stack deploys)' : '');
    const rows = [
      [
        'floor (DynamoDB + SQS clients only)',
        formatBytes(mode.floor.bytes),
        formatNumber(mode.floor.medianInitMs, 1),
        '',
        formatRatio(mode.floor.medianInitMs / cs.floorMs),
        '',
      ],
      ...mode.functions.map((f) => [
        f.name,
        formatBytes(f.bytes),
        formatNumber(f.medianInitMs, 1),
        `+${formatNumber(f.medianInitMs - cs.floorMs, 1)}`,
        formatRatio(f.initRatio),
        f.largestInputs
          .slice(0, 3)
          .map((i) => `${i.input} ${formatBytes(i.bytes)}`)
          .join(', '),
      ]),
    ];
    // Both columns are against the fastest floor (SDK bundled, minified), as init_ratio is.
    const headers = [
      'bundle',
      'minified',
      'init ms (median)',
      'over fastest floor',
      '÷ fastest floor',
      'largest inputs',
    ];
    parts.push(`${label}:\n${table(headers, rows)}`);
  }
  const stack = cs.modes.find((m) => m.mode === cs.stackMode);
  return (
    `1. Bundle and cold start (${cs.runs} fresh Node ${cs.nodeVersion} processes per bundle; ` +
    'import + top-level init)\n' +
    parts.join('\n\n') +
    `\nmax_bundle_bytes = ${formatBytes(stack?.maxBundleBytes)} as deployed ` +
    '(reported; no target: init time is measured itself)'
  );
}

function notifySection(results: BenchResults): string | undefined {
  const n = results.notify;
  if (!n) return undefined;
  const rows = [
    [
      `${n.orders} distinct paid notifications (v2, ${n.signedWith})`,
      formatNumber(n.notify.perSecond),
      formatNumber(n.notify.latencyMs.p50, 1),
      formatNumber(n.notify.latencyMs.p99, 1),
      `${n.notify.failures} failed, ${n.notify.paidAfterwards}/${n.orders} PAID after`,
    ],
    [
      `the same through the local gateway (${n.orders} more)`,
      formatNumber(n.gateway.perSecond),
      formatNumber(n.gateway.latencyMs.p50, 1),
      formatNumber(n.gateway.latencyMs.p99, 1),
      `${n.gateway.failures} failed, ${n.gateway.paidAfterwards}/${n.orders} PAID after; ` +
        `ratio ${formatRatio(n.gatewayRatio)}`,
    ],
    [
      `${n.storm.copies} copies of one notification (gateway)`,
      formatNumber(n.storm.perSecond),
      formatNumber(n.storm.latencyMs.p50, 1),
      formatNumber(n.storm.latencyMs.p99, 1),
      `${n.storm.failures} failed, ${n.storm.paidTransitions} PAID transition(s), ` +
        `${n.storm.notificationsRecorded} recorded`,
    ],
    [
      'floor: conditional UpdateItem, distinct items',
      formatNumber(n.floor.perSecond),
      '',
      '',
      `runs ${n.floor.runs.map((x) => formatNumber(x)).join(' / ')}`,
    ],
  ];
  const notifyBusy = (n.notify.eventLoopUtilization * 100).toFixed(0);
  const floorBusy = (n.floor.eventLoopUtilization * 100).toFixed(0);
  const cpu =
    `CPU per notification ${n.notify.cpuMsPerNotification.toFixed(2)} ms in process ` +
    `(${n.gateway.cpuMsPerNotification.toFixed(2)} ms through the gateway), ` +
    `per floor UpdateItem ${n.floor.cpuMsPerUpdate.toFixed(2)} ms; this process's event loop was busy ` +
    `${notifyBusy}% of the in-process run, ${floorBusy}% of the floor's`;
  return (
    '2. Notify throughput (the notify handler in process, given Function URL events, as deployed; then the ' +
    `local gateway → handler; DynamoDB Local; concurrency ${n.concurrency}; ` +
    'orders seeded PENDING straight into the table)\n' +
    `${table(['load', 'req/s', 'p50 ms', 'p99 ms', 'checks'], rows)}\n` +
    `notify_ratio = ${formatRatio(n.notifyRatio)} (in process ÷ floor); ${cpu}`
  );
}

function signingSection(results: BenchResults): string | undefined {
  const s = results.signing;
  if (!s) return undefined;
  const rows: string[][] = [];
  let group = '';
  for (const row of s.rows) {
    rows.push([row.group === group ? '' : row.group, row.impl, formatNumber(row.opsPerSecond), row.note ?? '']);
    group = row.group;
  }
  const ratios = [
    `sign ÷ bare crypto: HMAC-SHA256 ${formatRatio(s.signVsCrypto.hmacSha256)}, ` +
      `MD5 ${formatRatio(s.signVsCrypto.md5)}; verify ÷ bare: ${formatRatio(s.verifyVsCrypto.hmacSha256)}`,
    `sign ÷ peers: tenpay ${formatRatio(s.signVsPeers.tenpay)}, ` +
      `wechatpay-axios-plugin ${formatRatio(s.signVsPeers['wechatpay-axios-plugin'])}; ` +
      `whole notification ÷ peers: tenpay ${formatRatio(s.notificationVsPeers.tenpay)}, ` +
      `wechatpay-axios-plugin ${formatRatio(s.notificationVsPeers['wechatpay-axios-plugin'])}`,
    `v3 ÷ bare crypto: RSA verify ${formatRatio(s.v3.rsaVerifyVsCrypto)}, ` +
      `AES-GCM decrypt ${formatRatio(s.v3.aesGcmVsCrypto)}, ` +
      `whole notification ${formatRatio(s.v3.notificationVsCrypto)}`,
  ];
  const peers = Object.entries(s.peers)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `3. Signing and parsing (in process; ops/s, median of rounds; peers: ${peers})\n` +
    `${table(['case', 'implementation', 'ops/s', 'note'], rows)}\n${ratios.join('\n')}`
  );
}

/** One column per phase (paid/expired orders, or a refund scenario), one row per count, per unit. */
function phaseTable(unit: string, cols: ReadonlyArray<readonly [string, PhaseResult]>): string {
  const row = (label: string, f: (p: PhaseResult) => string) => [label, ...cols.map(([, p]) => f(p))];
  const fnList = (p: PhaseResult) =>
    Object.entries(p.perOrder.lambdaByFunction)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
  const ops = (byOp: Record<string, number>, n: number) =>
    Object.entries(byOp)
      .map(([k, v]) => `${k} ${(v / Math.max(n, 1)).toFixed(2)}`)
      .join(', ');
  const perUnit = (byOp: Record<string, number>) => ops(byOp, 1);
  const rows = [
    row(`${unit}s run / reached final state`, (p) => `${p.counts.orders} / ${p.counts.completed}`),
    row('Lambda invocations', (p) => `${formatNumber(p.perOrder.lambdaInvocations, 2)} (${fnList(p)})`),
    row('  mean duration, ms', (p) =>
      Object.entries(p.counts.lambda)
        .filter(([, v]) => v.invocations > 0)
        .map(([k, v]) => `${k} ${v.meanMs.toFixed(0)}`)
        .join(', '),
    ),
    row(
      'DynamoDB reads (requests / units)',
      (p) => `${formatNumber(p.perOrder.dynamodbReads, 2)} / ${formatNumber(p.perOrder.dynamodbReadUnits, 2)}`,
    ),
    row(
      'DynamoDB writes (requests / units)',
      (p) => `${formatNumber(p.perOrder.dynamodbWrites, 2)} / ${formatNumber(p.perOrder.dynamodbWriteUnits, 2)}`,
    ),
    row('  by operation', (p) => ops(p.counts.dynamodb.byOp, p.counts.orders)),
    row('  write units by operation', (p) => perUnit(p.perOrder.dynamodbWriteUnitsByOp)),
    row(
      'SQS requests (+ idle polls apart)',
      (p) => `${formatNumber(p.perOrder.sqsRequests, 2)} (+${formatNumber(p.perOrder.sqsEmptyReceives, 2)})`,
    ),
    row('  by operation', (p) => ops(p.counts.sqs.byOp, p.counts.orders)),
    row(
      'WeChat Pay calls',
      (p) => `${formatNumber(p.perOrder.wechatCalls, 2)} (${ops(p.counts.wechat.byOp, p.counts.orders)})`,
    ),
    row('API Gateway requests', (p) => formatNumber(p.perOrder.apiGatewayRequests, 2)),
  ];
  if (cols.some(([, p]) => p.modelled !== undefined)) {
    rows.push(
      row('modelled: early SQS messages', (p) =>
        p.modelled
          ? `${p.modelled.hopsPerOrder} → ${formatNumber(p.modelled.lambdaInvocations, 2)} invocations, ` +
            `${formatNumber(p.modelled.sqsRequests, 2)} SQS, ${formatNumber(p.modelled.lambdaBilledMs, 0)} ms`
          : '—',
      ),
      row('  measured alone / modelled, per million', (p) =>
        p.modelled ? `${usd(p.measuredCostPerMillion?.total)} + ${usd(p.modelled.costPerMillion.total)}` : '—',
      ),
    );
  }
  rows.push(
    row(`cost per million ${unit}s`, (p) => usd(p.costPerMillion.total)),
    row(
      '  Lambda requests + compute',
      (p) => `${usd(p.costPerMillion.byService.lambdaRequests)} + ${usd(p.costPerMillion.byService.lambdaCompute)}`,
    ),
    row('  API Gateway / DynamoDB / SQS / logs', (p) =>
      [
        p.costPerMillion.byService.apiGateway,
        p.costPerMillion.byService.dynamodb,
        p.costPerMillion.byService.sqs,
        p.costPerMillion.byService.logs,
      ]
        .map(usd)
        .join(' / '),
    ),
    row('request ms at the proxies (mean)', (p) => {
      const c = p.counts;
      return [c.dynamodb, c.sqs, c.wechat]
        .flatMap((t) =>
          Object.entries(t.msByOp)
            .filter(([op]) => op !== 'ReceiveMessage' && (t.byOp[op] ?? 0) > 0)
            .map(([op, ms]) => `${op} ${(ms / (t.byOp[op] ?? 1)).toFixed(0)}`),
        )
        .join(', ');
    }),
    row('event loop delay ms (p50 / p99)', (p) =>
      p.counts.eventLoopDelayMs
        ? `${p.counts.eventLoopDelayMs.p50.toFixed(0)} / ${p.counts.eventLoopDelayMs.p99.toFixed(0)}`
        : '—',
    ),
  );
  return table([`per ${unit}`, ...cols.map(([name]) => name)], rows);
}

function costSection(results: BenchResults): string | undefined {
  const c = results.cost;
  if (!c) return undefined;
  const cols: Array<readonly [string, PhaseResult]> = [['paid', c.paid]];
  if (c.expired) cols.push(['expired', c.expired]);
  const prices = c.prices;
  const priceLine =
    `prices (${prices.region}, as of ${prices.asOf}): Lambda arm64 $${prices.lambdaArmPerGbSecond}/GB-s ` +
    `+ $${prices.lambdaPerMillionRequests}/M requests; ` +
    `DynamoDB on-demand $${prices.dynamodbPerMillionWriteUnits}/M WRU, $${prices.dynamodbPerMillionReadUnits}/M RRU; ` +
    `SQS $${prices.sqsPerMillionRequests}/M; ` +
    `HTTP API $${prices.httpApiPerMillionRequests}/M; CloudWatch Logs $${prices.logsPerGbIngested}/GB`;
  return (
    `4. Cost per payment (per order, through the local stack)\n` +
    `${phaseTable('order', cols)}\n${priceLine}\n` +
    c.assumptions.map((a) => `- ${a}`).join('\n')
  );
}

function refundSection(results: BenchResults): string | undefined {
  const r = results.refund;
  if (!r) return undefined;
  const cols = r.map((s) => [s.name, s.phase] as const);
  return (
    '7. Cost per refund (API v2 over mutual TLS, until SUCCESS and the queue drained; ' +
    `the tracked keys follow "${TRACKED_REFUND_SCENARIO}"; priced as part 4)\n` +
    phaseTable('refund', cols)
  );
}

function eventSection(results: BenchResults): string | undefined {
  const e = results.event;
  if (!e) return undefined;
  return `8. Cost per event (payment.succeeded to a verifying receiver; priced as part 4)\n${renderEventCost(e)}`;
}

function latencySection(results: BenchResults): string | undefined {
  const l = results.latency;
  if (!l) return undefined;
  const rows = l.runs.flatMap((r) =>
    r.operations.map((o) => {
      const paid = o.operation === 'notify' ? `, ${r.paidAfterwards}/${o.count} PAID after` : '';
      const checks = `${o.failures} failed${paid}`;
      return [
        o.label,
        String(r.concurrency),
        formatNumber(o.count),
        formatNumber(o.p50, 1),
        formatNumber(o.p99, 1),
        formatNumber(o.max, 1),
        formatNumber(o.perSecond),
        checks,
      ];
    }),
  );
  return (
    "5. API latency (over HTTP, as a merchant's backend and WeChat see it: " +
    'local gateway → handlers → DynamoDB Local, prepay at the simulator; ' +
    `${l.warmup} warm-up requests discarded per row; orders ${l.tradeTypes.join(' and ')} in turn; ` +
    `notifications v2, ${l.signedWith})\n` +
    table(['request', 'concurrency', 'count', 'p50 ms', 'p99 ms', 'max ms', 'req/s', 'checks'], rows)
  );
}

export function renderReport(results: BenchResults, run: RunInfo): string {
  const h = headline(results);
  const sections = [
    targetsSection(results),
    coldStartSection(results),
    notifySection(results),
    signingSection(results),
    costSection(results),
    latencySection(results),
    results.bill ? renderBillReconcile(results.bill) : undefined,
    refundSection(results),
    eventSection(results),
    `cost_per_million_paid_usd = ${usd(h.cost_per_million_paid_usd)}; ` +
      `run took ${run.seconds.toFixed(0)} s on ${run.cpus} CPU(s), ` +
      `load average ${run.loadAverage.map((x) => x.toFixed(2)).join(' ')}${run.quick ? ' (--quick)' : ''}`,
  ];
  return `${sections.filter((s): s is string => s !== undefined).join('\n\n')}\n`;
}
