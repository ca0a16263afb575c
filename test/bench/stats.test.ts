import { describe, expect, it } from 'vitest';

import { mean, median, percentile, ratio, significant, summarizeLatencies, summarizeRequests } from '#bench/stats';

describe('median', () => {
  it('takes the middle of an odd sample and the mean of the two middles of an even one, whatever the order', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('refuses an empty sample', () => {
    expect(() => median([])).toThrow(RangeError);
  });

  it('does not reorder the caller’s array', () => {
    const samples = [3, 1, 2];
    median(samples);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose

  it('gives the p-th smallest of a hundred samples', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });

  it('rounds the rank up on small samples, so p99 of a few samples is the largest', () => {
    expect(percentile([10, 20, 30], 99)).toBe(30);
    expect(percentile([10, 20, 30], 34)).toBe(20);
  });

  it('refuses p outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });
});

describe('summaries and ratios', () => {
  it('summarises latencies by count, p50, p99 and max', () => {
    expect(summarizeLatencies([5, 1, 3, 2, 4])).toEqual({ count: 5, p50: 3, p99: 5, max: 5 });
  });

  it('adds requests per second of the run to the latency summary', () => {
    expect(summarizeRequests([5, 1, 3, 2], 0.5)).toEqual({ count: 4, p50: 2, p99: 5, max: 5, perSecond: 8 });
  });

  it('refuses a run that took no time, and no requests at all', () => {
    expect(() => summarizeRequests([1], 0)).toThrow(RangeError);
    expect(() => summarizeRequests([], 1)).toThrow(RangeError);
  });

  it('averages', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(() => mean([])).toThrow(RangeError);
  });

  it('gives no ratio against zero, a negative or a missing floor', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNull();
    expect(ratio(3, -1)).toBeNull();
    expect(ratio(Number.NaN, 2)).toBeNull();
  });

  it('keeps significant figures', () => {
    expect(significant(1234.567, 3)).toBe(1230);
    expect(significant(0.0012345, 2)).toBe(0.0012);
    expect(significant(0)).toBe(0);
  });
});
