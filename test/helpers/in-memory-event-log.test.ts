import { describe, expect, it } from 'vitest';
import { eventLogContract, sampleEvent } from '#test/helpers/event-log-contract';
import { InMemoryEventLog } from '#test/helpers/in-memory-event-log';
import { TestClock } from '#test/helpers/test-clock';

// The unit tier's log keeps the contract the DynamoDB log keeps on DynamoDB Local.
eventLogContract('InMemoryEventLog', async (clock) => new InMemoryEventLog({ clock }));

describe('InMemoryEventLog', () => {
  it('hands out copies: changing a returned event changes nothing recorded', async () => {
    const clock = new TestClock('2030-01-01T00:00:00.000Z');
    const log = new InMemoryEventLog({ clock });
    const event = sampleEvent();
    await log.record(event);
    log.all()[0]!.data.status = 'CLOSED';
    clock.advance(10);
    const [listed] = (await log.list({ limit: 1 })).events;
    listed!.subject.outTradeNo = 'changed';
    expect(log.all()).toEqual([event]);
  });
});
