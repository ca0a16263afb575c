import { describe, expect, it } from 'vitest';

import { paidAtInstant, paidAtRfc3339 } from '#shared/domain/payment-time';

describe('paidAtInstant', () => {
  it('reads v2’s time_end as Beijing time', () => {
    expect(paidAtInstant('20300101080510')?.toISOString()).toBe('2030-01-01T00:05:10.000Z');
    expect(paidAtInstant('20300101000000')?.toISOString()).toBe('2029-12-31T16:00:00.000Z');
  });

  it('reads v3’s success_time with its offset', () => {
    expect(paidAtInstant('2030-01-01T08:05:10+08:00')?.toISOString()).toBe('2030-01-01T00:05:10.000Z');
    expect(paidAtInstant('2030-01-01T00:05:10Z')?.toISOString()).toBe('2030-01-01T00:05:10.000Z');
  });

  it('reads nothing else, nor a date that does not exist', () => {
    for (const odd of [
      '',
      'yesterday',
      '20300230120000',
      '20301301000000',
      '2030-01-01 08:00:00',
      '2030-01-01T08:00:00',
    ]) {
      expect(paidAtInstant(odd)).toBeUndefined();
    }
  });
});

describe('paidAtRfc3339', () => {
  it('writes v2 Beijing time with its +08:00 offset and passes RFC 3339 on unchanged', () => {
    expect(paidAtRfc3339('20261125120000')).toBe('2026-11-25T12:00:00+08:00');
    expect(paidAtRfc3339('2026-11-25T12:00:00+08:00')).toBe('2026-11-25T12:00:00+08:00');
    expect(Date.parse(paidAtRfc3339('20261125120000'))).toBe(paidAtInstant('20261125120000')?.getTime());
  });
});
