import { describe, expect, it } from 'vitest';

import {
  collectHeaders,
  fromProxyResult,
  isTextContentType,
  MalformedResultError,
  queryParameters,
  type ReceivedRequest,
  requestTime,
  splitTarget,
  toFunctionUrlEvent,
  toHttpApiEvent,
} from '#sandbox/local/lambda-events';

function request(overrides: Partial<ReceivedRequest> = {}): ReceivedRequest {
  return {
    method: 'GET',
    target: '/orders/0042',
    rawHeaders: ['Host', '127.0.0.1:3000', 'User-Agent', 'test-agent/1.0'],
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    protocol: 'HTTP/1.1',
    localPort: 3000,
    ...overrides,
  };
}

const NOW = new Date(Date.UTC(2024, 2, 5, 9, 7, 3, 250));

describe('request pieces', () => {
  it('splits the request target at the first question mark, keeping the query raw', () => {
    expect(splitTarget('/orders/a%7Cb?sync=1&x=a%20b')).toEqual({
      rawPath: '/orders/a%7Cb',
      rawQueryString: 'sync=1&x=a%20b',
    });
    expect(splitTarget('/orders')).toEqual({ rawPath: '/orders', rawQueryString: '' });
  });

  it('decodes query parameters and joins repeated ones with commas, as payload 2.0 does', () => {
    expect(queryParameters('a=1&a=2&b=x%20y&c=&d')).toEqual({ a: '1,2', b: 'x y', c: '', d: '' });
    expect(queryParameters('')).toBeUndefined();
  });

  it('lower-cases header names, joins repeats with commas and takes cookies out', () => {
    const { headers, cookies } = collectHeaders([
      'X-Custom',
      'one',
      'x-custom',
      'two',
      'Cookie',
      'a=1; b=2',
      'cookie',
      'c=3',
      'Content-Type',
      'application/json',
    ]);
    expect(headers).toEqual({ 'x-custom': 'one,two', 'content-type': 'application/json' });
    expect(cookies).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('treats text, JSON and XML as text and everything else as binary', () => {
    expect(isTextContentType('text/xml; charset=utf-8')).toBe(true);
    expect(isTextContentType('application/json')).toBe(true);
    expect(isTextContentType('application/problem+json')).toBe(true);
    expect(isTextContentType('application/xml')).toBe(true);
    expect(isTextContentType('application/octet-stream')).toBe(false);
    expect(isTextContentType('application/x-www-form-urlencoded')).toBe(false);
    expect(isTextContentType(undefined)).toBe(false);
  });

  it('formats the request time as API Gateway does', () => {
    expect(requestTime(NOW)).toBe('05/Mar/2024:09:07:03 +0000');
  });
});

describe('toHttpApiEvent', () => {
  it('builds a payload 2.0 event with route, path and query parameters and the skipped-IAM authorizer', () => {
    const event = toHttpApiEvent(
      request({
        target: '/orders/00%7C42?sync=1&tag=a&tag=b',
        rawHeaders: ['Host', '127.0.0.1:3000', 'User-Agent', 'test-agent/1.0', 'Cookie', 's=1'],
      }),
      { routeKey: 'GET /orders/{out_trade_no}', pathParameters: { out_trade_no: '00|42' } },
      { region: 'ap-east-1', now: NOW },
    );
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /orders/{out_trade_no}',
      rawPath: '/orders/00%7C42',
      rawQueryString: 'sync=1&tag=a&tag=b',
      cookies: ['s=1'],
      queryStringParameters: { sync: '1', tag: 'a,b' },
      pathParameters: { out_trade_no: '00|42' },
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        domainName: '127.0.0.1:3000',
        domainPrefix: '127',
        http: {
          method: 'GET',
          path: '/orders/00%7C42',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'test-agent/1.0',
        },
        routeKey: 'GET /orders/{out_trade_no}',
        stage: '$default',
        time: '05/Mar/2024:09:07:03 +0000',
        timeEpoch: NOW.getTime(),
      },
    });
    expect(event.body).toBeUndefined();
    expect(event.headers).toMatchObject({
      host: '127.0.0.1:3000',
      'user-agent': 'test-agent/1.0',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '3000',
      'x-forwarded-proto': 'http',
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]{14}==$/);
    expect(event.requestContext.authorizer.iam.userArn).toContain('iam-auth-skipped');
    expect(event.requestContext.authorizer.iam.accessKey).toBe('LOCAL-IAM-NOT-CHECKED');
  });

  it('passes a JSON body as text', () => {
    const body = JSON.stringify({ description: '测试', amount: { total: 1 } });
    const event = toHttpApiEvent(
      request({
        method: 'POST',
        target: '/orders',
        rawHeaders: ['Content-Type', 'application/json'],
        body: Buffer.from(body),
      }),
      { routeKey: 'POST /orders' },
      { region: 'us-east-1' },
    );
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.pathParameters).toBeUndefined();
    expect(event.queryStringParameters).toBeUndefined();
  });

  it('base64-encodes a binary or untyped body', () => {
    const bytes = Buffer.from([0, 255, 1, 254, 10]);
    for (const rawHeaders of [['Content-Type', 'application/octet-stream'], []]) {
      const event = toHttpApiEvent(
        request({ method: 'POST', target: '/orders', rawHeaders, body: bytes }),
        { routeKey: 'POST /orders' },
        { region: 'us-east-1' },
      );
      expect(event.isBase64Encoded).toBe(true);
      expect(Buffer.from(event.body ?? '', 'base64')).toEqual(bytes);
    }
  });

  it('appends the caller address to a forwarded-for list the client sent', () => {
    const event = toHttpApiEvent(
      request({ rawHeaders: ['X-Forwarded-For', '203.0.113.9'] }),
      { routeKey: 'GET /orders/{out_trade_no}' },
      { region: 'us-east-1' },
    );
    expect(event.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  });
});

describe('toFunctionUrlEvent', () => {
  it('builds the Function URL shape: $default route, no path parameters, no authorizer, anonymous caller', () => {
    const xml = '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>';
    const event = toFunctionUrlEvent(
      request({
        method: 'POST',
        target: '/notify/pay',
        rawHeaders: ['Content-Type', 'text/xml', 'User-Agent', 'Mozilla/4.0'],
        body: Buffer.from(xml),
      }),
      { region: 'ap-east-1', now: NOW },
    );
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/notify/pay',
      rawQueryString: '',
      body: xml,
      isBase64Encoded: false,
      requestContext: {
        accountId: 'anonymous',
        routeKey: '$default',
        stage: '$default',
        http: { method: 'POST', path: '/notify/pay', userAgent: 'Mozilla/4.0' },
        timeEpoch: NOW.getTime(),
      },
    });
    expect(event.requestContext.domainName).toMatch(/^[a-z0-9]{32}\.lambda-url\.ap-east-1\.on\.aws$/);
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(event.pathParameters).toBeUndefined();
    expect('authorizer' in event.requestContext).toBe(false);
  });
});

describe('fromProxyResult', () => {
  it('sends a string result as a 200 JSON body, unchanged', () => {
    const response = fromProxyResult('{"ok":true}');
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual([['content-type', 'application/json']]);
    expect(response.body.toString()).toBe('{"ok":true}');
  });

  it('serialises an object without statusCode as a 200 JSON body', () => {
    const response = fromProxyResult({ status: 'PAID', total: 1 });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body.toString())).toEqual({ status: 'PAID', total: 1 });
  });

  it('honours statusCode, headers, cookies and a base64 body', () => {
    const bytes = Buffer.from([1, 2, 3, 250]);
    const response = fromProxyResult({
      statusCode: 201,
      headers: { 'Content-Type': 'application/octet-stream', 'X-Count': 3, 'X-Flag': true },
      cookies: ['a=1; Path=/', 'b=2'],
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual([
      ['content-type', 'application/octet-stream'],
      ['x-count', '3'],
      ['x-flag', 'true'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2'],
    ]);
    expect(response.body).toEqual(bytes);
  });

  it('treats a structured result without body as empty', () => {
    expect(fromProxyResult({ statusCode: 204 }).body.length).toBe(0);
  });

  it('refuses results API Gateway could not send', () => {
    expect(() => fromProxyResult({ statusCode: '200' })).toThrow(MalformedResultError);
    expect(() => fromProxyResult({ statusCode: 99 })).toThrow(MalformedResultError);
    expect(() => fromProxyResult({ statusCode: 200, body: { a: 1 } })).toThrow(MalformedResultError);
    expect(() => fromProxyResult({ statusCode: 200, headers: { a: { b: 1 } } })).toThrow(MalformedResultError);
    expect(() => fromProxyResult({ statusCode: 200, cookies: 'a=1' })).toThrow(MalformedResultError);
  });
});
