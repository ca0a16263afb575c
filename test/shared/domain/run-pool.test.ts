import { describe, expect, it } from 'vitest';

import { runPool } from '#shared/domain/run-pool';

describe('runPool', () => {
  it('does every item once and never has more than `concurrency` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await runPool(
      Array.from({ length: 25 }, (_, i) => i),
      4,
      async (item) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        done.push(item);
        inFlight -= 1;
      },
    );
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it('refuses a concurrency below one', async () => {
    await expect(runPool([1], 0, async () => {})).rejects.toThrow(RangeError);
  });

  it('does nothing for no items, and rejects at the first failure', async () => {
    await expect(runPool([], 3, async () => {})).resolves.toBeUndefined();
    const started: number[] = [];
    const failing = runPool([1, 2, 3, 4], 1, async (item) => {
      started.push(item);
      if (item === 2) throw new Error('item 2 failed');
    });
    await expect(failing).rejects.toThrow('item 2 failed');
    expect(started).toEqual([1, 2]);
  });
});
