import { describe, expect, it } from 'vitest';

import { signingCases } from '#bench/signing';

/**
 * The signing benchmark compares like with like only if every implementation does its job on the
 * same input; a case that got it wrong would be timed doing something else.
 */
describe('signing benchmark cases', () => {
  const cases = signingCases();

  it('has ours, a floor or a peer in every group', () => {
    const groups = new Map<string, string[]>();
    for (const c of cases) groups.set(c.group, [...(groups.get(c.group) ?? []), c.impl]);
    for (const impls of groups.values()) {
      expect(impls.some((i) => i.startsWith('ours'))).toBe(true);
      expect(impls.length).toBeGreaterThanOrEqual(3);
    }
  });

  it('accepts its input in every case but one: tenpay cannot verify an HMAC-SHA256-signed notification', async () => {
    const refused: string[] = [];
    for (const c of cases) if (!(await c.check())) refused.push(c.id);
    expect(refused).toEqual(['v2.notify.HMAC-SHA256.tenpay']);
  });
});
