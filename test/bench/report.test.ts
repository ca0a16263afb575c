import { describe, expect, it } from 'vitest';

import { formatBytes, formatRatio, table } from '../../bench/report';
import { checkTargets, MAX_BUNDLE_BYTES } from '../../bench/targets';

describe('checkTargets', () => {
  it('passes a value on the right side of each target and misses one on the wrong side', () => {
    const results = checkTargets({
      init_ratio: 1.3,
      max_bundle_bytes: MAX_BUNDLE_BYTES + 1,
      notify_ratio: 0.49,
      sign_vs_crypto: 0.8,
      sign_vs_tenpay: 1,
      sign_vs_wechatpay_axios_plugin: 1.01,
      lambda_invocations_per_paid_order: 3,
      dynamodb_writes_per_paid_order: 4.01,
    });
    expect(Object.fromEntries(results.map((r) => [r.key, r.verdict]))).toEqual({
      init_ratio: 'PASS',
      max_bundle_bytes: 'MISS',
      notify_ratio: 'MISS',
      sign_vs_crypto: 'PASS',
      sign_vs_tenpay: 'MISS',
      sign_vs_wechatpay_axios_plugin: 'PASS',
      lambda_invocations_per_paid_order: 'PASS',
      dynamodb_writes_per_paid_order: 'MISS',
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
