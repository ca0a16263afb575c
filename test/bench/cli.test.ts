import { describe, expect, it } from 'vitest';

import { parseBenchArgs, UsageError } from '#bench/cli';

describe('parseBenchArgs', () => {
  it('runs every part, as a table, by default', () => {
    expect(parseBenchArgs([])).toEqual({
      json: false,
      quick: false,
      verbose: false,
      parts: ['bundle', 'notify', 'signing', 'cost', 'latency', 'bill', 'refund', 'event'],
    });
  });

  it('reads --json, --quick and --verbose', () => {
    expect(parseBenchArgs(['--json', '--quick', '--verbose'])).toMatchObject({
      json: true,
      quick: true,
      verbose: true,
    });
  });

  it('takes parts by number or name, in the bench’s order, without repeats', () => {
    expect(parseBenchArgs(['--parts=3,1']).parts).toEqual(['bundle', 'signing']);
    expect(parseBenchArgs(['--parts=cost,2,notify']).parts).toEqual(['notify', 'cost']);
  });

  it('takes part 5, API latency, by number or name', () => {
    expect(parseBenchArgs(['--parts=5']).parts).toEqual(['latency']);
    expect(parseBenchArgs(['--parts=latency,1']).parts).toEqual(['bundle', 'latency']);
  });

  it('takes part 6, the bill reconciliation, by number or name', () => {
    expect(parseBenchArgs(['--parts=6']).parts).toEqual(['bill']);
    expect(parseBenchArgs(['--parts=bill,3']).parts).toEqual(['signing', 'bill']);
  });

  it('takes parts 7 and 8, the cost per refund and per event, by number or name', () => {
    expect(parseBenchArgs(['--parts=8,7']).parts).toEqual(['refund', 'event']);
    expect(parseBenchArgs(['--parts=cost,refund,event']).parts).toEqual(['cost', 'refund', 'event']);
  });

  it('refuses an unknown part, an empty list and an unknown flag, naming it', () => {
    expect(() => parseBenchArgs(['--parts=9'])).toThrow(/unknown part "9"/);
    expect(() => parseBenchArgs(['--parts=05'])).toThrow(/unknown part "05"/);
    expect(() => parseBenchArgs(['--parts='])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
  });
});
