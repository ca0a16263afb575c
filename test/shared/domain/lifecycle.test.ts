import { describe, expect, it } from 'vitest';

import { canStillChange, canTransition, planTransition, sourcesOf } from '#shared/domain/lifecycle';
import { ORDER_STATUSES, type OrderStatus } from '#shared/domain/order';

/** The order lifecycle (README.md, "The API"), written out as the full table of allowed moves. */
const EXPECTED: Record<OrderStatus, OrderStatus[]> = {
  CREATED: ['PENDING', 'PAID', 'CLOSED', 'FAILED'],
  PENDING: ['PAID', 'CLOSED', 'FAILED'],
  PAID: [],
  CLOSED: [],
  FAILED: ['PAID', 'CLOSED'],
};

describe('order lifecycle', () => {
  for (const from of ORDER_STATUSES) {
    for (const to of ORDER_STATUSES) {
      const allowed = EXPECTED[from].includes(to);
      const plan = from === to ? 'already' : allowed ? 'apply' : 'conflict';
      it(`${from} → ${to}: ${plan}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
        expect(planTransition(from, to)).toBe(plan);
        expect(sourcesOf(to).includes(from)).toBe(allowed);
      });
    }
  }

  it('a paid order can never be closed or failed', () => {
    expect(planTransition('PAID', 'CLOSED')).toBe('conflict');
    expect(planTransition('PAID', 'FAILED')).toBe('conflict');
  });

  it('money wins: a failed payment can still become paid, a closed order cannot', () => {
    expect(planTransition('FAILED', 'PAID')).toBe('apply');
    expect(planTransition('CLOSED', 'PAID')).toBe('conflict');
  });

  it('keeps watching every order WeChat may still move, a failed one included', () => {
    expect(ORDER_STATUSES.filter(canStillChange)).toEqual(['CREATED', 'PENDING', 'FAILED']);
  });
});
