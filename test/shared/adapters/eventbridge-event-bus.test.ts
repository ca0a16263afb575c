import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_BUS_SOURCE, EventBridgeEventBus, EventBusError } from '#shared/adapters/eventbridge-event-bus';
import type { DomainEvent } from '#shared/domain/events';
import { sampleEvent } from '#test/helpers/event-log-contract';

// No EventBridge runs locally: a loopback server speaks its JSON protocol (awsJson1_1), checks what the
// adapter sends and answers as EventBridge does, including the per-entry failures of a 200 answer.

interface Received {
  method: string | undefined;
  headers: IncomingHttpHeaders;
  body: unknown;
}

let server: Server;
let endpoint: string;
const received: Received[] = [];
let answer: { status: number; body: unknown };

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method,
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
      });
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  answer = { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] } };
});

const render = (event: DomainEvent): string => JSON.stringify({ id: event.id, type: event.type, data: event.data });

function bus(): EventBridgeEventBus {
  const client = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint,
    maxAttempts: 1,
  });
  return new EventBridgeEventBus({ client, busName: 'wechatpay-events', render });
}

describe('EventBridgeEventBus', () => {
  it('puts one entry: our source, the event type as detail-type, the wire form as detail, on the bus', async () => {
    const event = sampleEvent('refund.closed', 'RF7');
    await bus().publish(event);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(request?.body).toEqual({
      Entries: [
        { EventBusName: 'wechatpay-events', Source: 'wechatpay', DetailType: 'refund.closed', Detail: render(event) },
      ],
    });
    expect(EVENT_BUS_SOURCE).toBe('wechatpay');
  });

  it('fails when the bus refuses the entry, with the entry’s error code, so the change is retried', async () => {
    answer = {
      status: 200,
      body: {
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      },
    };
    const event = sampleEvent();
    const error: unknown = await bus()
      .publish(event)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventBusError);
    expect(error).toMatchObject({ code: 'ThrottlingException' });
    expect((error as Error).message).toContain(event.id);
    // The message names the event, never its data.
    expect((error as Error).message).not.toContain('4200001234567890123456789012');
  });

  it('fails as the SDK reports it when the request itself is refused', async () => {
    answer = {
      status: 400,
      body: { __type: 'ResourceNotFoundException', message: 'Event bus wechatpay-events does not exist.' },
    };
    await expect(bus().publish(sampleEvent())).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
