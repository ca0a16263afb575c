/** The targets, each checked against one number of the summary. A miss is reported, never fatal. */

export interface Target {
  key: string;
  label: string;
  /** How the target reads, e.g. "≤ 1.3". */
  goal: string;
  test: (value: number) => boolean;
}

/** The bills function's memory (infra/cdk/bill-reconciler.ts: one full vCPU), in MB. */
export const BILLS_FUNCTION_MEMORY_MB = 1_769;
/** A Lambda's 15 minutes for a 1,000,000-line day: the rate a whole run must keep. */
export const BILL_MIN_LINES_PER_SECOND = 1_000_000 / 900;

export const TARGETS: readonly Target[] = [
  { key: 'init_ratio', label: 'cold start ÷ floor (worst function)', goal: '≤ 1.3', test: (v) => v <= 1.3 },
  { key: 'notify_ratio', label: 'notifications/s ÷ conditional UpdateItem/s', goal: '≥ 0.5', test: (v) => v >= 0.5 },
  { key: 'sign_vs_crypto', label: 'v2 sign (HMAC-SHA256) ÷ bare HMAC', goal: '≥ 0.8', test: (v) => v >= 0.8 },
  { key: 'sign_vs_tenpay', label: 'v2 sign ÷ tenpay sign', goal: '> 1 (ahead)', test: (v) => v > 1 },
  {
    key: 'sign_vs_wechatpay_axios_plugin',
    label: 'v2 sign ÷ wechatpay-axios-plugin sign',
    goal: '> 1 (ahead)',
    test: (v) => v > 1,
  },
  {
    key: 'lambda_invocations_per_paid_order',
    label: 'Lambda invocations per paid order',
    goal: '≤ 3',
    test: (v) => v <= 3,
  },
  {
    key: 'dynamodb_writes_per_paid_order',
    label: 'DynamoDB write requests per paid order',
    goal: '≤ 4',
    test: (v) => v <= 4,
  },
  {
    key: 'expired_order_wru',
    label: 'DynamoDB write units per expired order',
    goal: '≤ 12',
    test: (v) => v <= 12,
  },
  {
    key: 'cost_per_million_expired_usd',
    label: 'cost per million expired orders (USD)',
    goal: '≤ 15',
    test: (v) => v <= 15,
  },
  {
    key: 'bill_lines_per_second',
    label: 'bill lines reconciled/s (in memory)',
    goal: '≥ 1,112 (1M in 15 min)',
    test: (v) => v >= BILL_MIN_LINES_PER_SECOND,
  },
  {
    key: 'bill_peak_rss_mb',
    label: 'bill reconciliation peak RSS',
    goal: '≤ 1,769 MB',
    test: (v) => v <= BILLS_FUNCTION_MEMORY_MB,
  },
];

export type Verdict = 'PASS' | 'MISS' | 'n/a';

export interface TargetResult {
  key: string;
  label: string;
  goal: string;
  value: number | null;
  verdict: Verdict;
}

export function checkTargets(values: Record<string, number | null | undefined>): TargetResult[] {
  return TARGETS.map((t) => {
    const value = values[t.key];
    const known = typeof value === 'number' && Number.isFinite(value);
    return {
      key: t.key,
      label: t.label,
      goal: t.goal,
      value: known ? value : null,
      verdict: known ? (t.test(value) ? 'PASS' : 'MISS') : 'n/a',
    };
  });
}
