import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';

import { eventView } from '#shared/app/event-view';
import { errorResponse } from '#shared/app/http-errors';
import { routeOrders, type OrdersApi } from '#shared/app/orders-api';
import { APP_BACKEND_ROUTES, routeKey } from '#shared/app/routes';
import { type DomainEvent, eventIdOf, type EventType } from '#shared/domain/events';
import { ListEvents } from '#shared/domain/list-events';
import { InMemoryEventLog } from '#test/helpers/in-memory-event-log';
import { T0 } from '#test/helpers/order-fixtures';
import { TestClock } from '#test/helpers/test-clock';

/** `GET /events` in process: the event API Gateway builds, over the in-memory log with its settle time. */

function request(query?: Record<string, string>): APIGatewayProxyEventV2 {
  const route = APP_BACKEND_ROUTES.listEvents;
  return {
    routeKey: routeKey(route),
    rawPath: route.path,
    queryStringParameters: query,
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method: route.method } },
  } as unknown as APIGatewayProxyEventV2;
}

function event(outTradeNo: string, type: EventType = 'payment.succeeded'): DomainEvent {
  return {
    id: eventIdOf({ outTradeNo }, type),
    type,
    createdAt: new Date(T0).toISOString(),
    subject: { outTradeNo },
    data: { out_trade_no: outTradeNo, status: 'PAID' },
  };
}

describe('GET /events', () => {
  let clock: TestClock;
  let log: InMemoryEventLog;
  let api: OrdersApi;

  async function call(query?: Record<string, string>) {
    const response = await routeOrders(request(query), api).catch(errorResponse);
    return { status: response.statusCode, body: JSON.parse(response.body ?? '{}') as Record<string, unknown> };
  }

  beforeEach(() => {
    clock = new TestClock(T0);
    log = new InMemoryEventLog({ clock, settleMs: 5000 });
    const reachNot = () => Promise.reject(new Error('GET /events needs no WeChat use case'));
    api = {
      clock,
      orderViewOptions: {},
      useCases: reachNot,
      refunds: reachNot,
      events: () => Promise.resolve(new ListEvents(log)),
      miniProgram: reachNot,
    };
  });

  it('answers the recorded events oldest first in their wire form, with the cursor to go on from', async () => {
    const recorded = [event('T1'), event('T2'), event('T1', 'refund.succeeded')];
    for (const e of recorded) {
      await log.record(e);
      clock.advance(1);
    }
    clock.advance(10);
    const { status, body } = await call();
    expect(status).toBe(200);
    expect(body.events).toEqual(recorded.map(eventView));
    expect(typeof body.next).toBe('string');
    const again = await call({ after: body.next as string });
    expect(again.body).toEqual({ events: [], next: body.next });
  });

  it('pages by limit, and the next page starts after the last event of the one before', async () => {
    const recorded = [event('T1'), event('T2'), event('T3')];
    for (const e of recorded) {
      await log.record(e);
      clock.advance(1);
    }
    clock.advance(10);
    const first = await call({ limit: '2' });
    expect((first.body.events as Array<{ id: string }>).map((e) => e.id)).toEqual([recorded[0]?.id, recorded[1]?.id]);
    const second = await call({ after: first.body.next as string, limit: '2' });
    expect((second.body.events as Array<{ id: string }>).map((e) => e.id)).toEqual([recorded[2]?.id]);
  });

  it('answers a cursor even when there is nothing yet; asked with later, it brings what came since', async () => {
    const empty = await call();
    expect(empty.body.events).toEqual([]);
    expect(typeof empty.body.next).toBe('string');
    const recorded = event('T1');
    await log.record(recorded);
    clock.advance(10_000);
    expect((await call({ after: empty.body.next as string })).body.events).toEqual([eventView(recorded)]);
  });

  it('reads empty parameters as absent: from the start, the default page', async () => {
    await log.record(event('T1'));
    clock.advance(10);
    const { status, body } = await call({ after: '', limit: '' });
    expect(status).toBe(200);
    expect(body.events).toHaveLength(1);
  });

  it('shows up to 50 events by default', async () => {
    for (let i = 0; i < 51; i += 1) await log.record(event(`T${i}`));
    clock.advance(10);
    expect((await call()).body.events).toHaveLength(50);
  });

  it.each([['0'], ['101'], ['-1'], ['1.5'], ['ten'], ['1000'], ['9'.repeat(400)]])(
    'refuses limit=%s with 400 naming limit',
    async (limit) => {
      const { status, body } = await call({ limit });
      expect(status).toBe(400);
      expect(body.error).toEqual(expect.objectContaining({ code: 'INVALID_REQUEST', field: 'limit' }));
    },
  );

  it.each([['x'.repeat(201)], ['A'.repeat(10_000)], ['not-a-cursor']])(
    'refuses after=%s with 400 naming after',
    async (after) => {
      const { status, body } = await call({ after });
      expect(status).toBe(400);
      expect(body.error).toEqual(expect.objectContaining({ code: 'INVALID_REQUEST', field: 'after' }));
    },
  );
});
