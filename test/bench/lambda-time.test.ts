import { describe, expect, it } from 'vitest';

import { emptyTally, addToTally } from '#bench/counting-proxy';
import { splitRound, summarizeRounds } from '#bench/lambda-time';

describe('where a create’s Lambda time goes', () => {
  const dynamodb = emptyTally();
  addToTally(dynamodb, { service: 'dynamodb', op: 'PutItem', kind: 'write', capacityUnits: 1 }, 30);
  addToTally(dynamodb, { service: 'dynamodb', op: 'PutItem', kind: 'write', capacityUnits: 1 }, 50);
  addToTally(dynamodb, { service: 'dynamodb', op: 'UpdateItem', kind: 'write', capacityUnits: 2 }, 60);
  addToTally(dynamodb, { service: 'dynamodb', op: 'UpdateItem', kind: 'write', capacityUnits: 2 }, 40);
  // The stream's reads are the events handler's, not the create's.
  addToTally(dynamodb, { service: 'dynamodb', op: 'GetRecords', kind: 'control' }, 500);
  const wechat = emptyTally();
  addToTally(wechat, { service: 'wechat', op: 'unifiedorder', kind: 'call' }, 10);
  addToTally(wechat, { service: 'wechat', op: 'unifiedorder', kind: 'call' }, 14);
  const sqs = emptyTally();
  addToTally(sqs, { service: 'sqs', op: 'SendMessage', kind: 'send' }, 4);
  addToTally(sqs, { service: 'sqs', op: 'SendMessage', kind: 'send' }, 6);

  it('splits the mean duration into the requests awaited, per create, and the rest', () => {
    const round = splitRound(1, 2, 150, [dynamodb, sqs, wechat], 70_000, { p50: 10, p99: 90 });
    expect(round.awaitedMsByOp).toEqual({ PutItem: 40, unifiedorder: 12, UpdateItem: 50, SendMessage: 5 });
    expect(round.awaitedMs).toBe(107);
    expect(round.restMs).toBe(43);
    expect(round.processCpuMsPerCreate).toBe(35);
  });

  it('takes the median of the rounds of each concurrency', () => {
    const rounds = [100, 140, 120].map((ms) =>
      splitRound(1, 2, ms, [dynamodb, sqs, wechat], 70_000, { p50: 1, p99: 2 }),
    );
    rounds.push(splitRound(4, 2, 400, [dynamodb, sqs, wechat], 80_000, { p50: 3, p99: 4 }));
    const [one, four] = summarizeRounds(rounds);
    expect(one).toMatchObject({ concurrency: 1, rounds: 3, handler_mean_ms: 120, awaited_ms: 107, rest_ms: 13 });
    expect(four).toMatchObject({ concurrency: 4, rounds: 1, handler_mean_ms: 400, process_cpu_ms_per_create: 40 });
  });
});
