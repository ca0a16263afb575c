import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';

import { openApiDocument } from '#shared/app/openapi-document';
import { APP_BACKEND_ROUTES, BILL_ROUTES, type Route } from '#shared/app/routes';
import { openApiResponseValidator } from '#test/helpers/openapi-validator';

/**
 * The OpenAPI document as a standard validator and a client generator read it: valid OpenAPI 3.1,
 * every app-backend and bill route with its request schema, every time a date-time, every amount an
 * integer, SigV4 on every operation.
 */

type Json = Record<string, unknown>;

const ROUTES: Array<[string, Route]> = [...Object.entries(APP_BACKEND_ROUTES), ...Object.entries(BILL_ROUTES)];

const document = openApiDocument();

function operationOf(route: Route): Json {
  const paths = document.paths as Record<string, Record<string, Json>>;
  const operation = paths[route.path]?.[route.method.toLowerCase()];
  if (operation === undefined) throw new Error(`no ${route.method} ${route.path}`);
  return operation;
}

function component(name: string): Json {
  const schemas = (document.components as { schemas: Record<string, Json> }).schemas;
  const schema = schemas[name];
  if (schema === undefined) throw new Error(`no component ${name}`);
  return schema;
}

/** The schema at a property path of a component, through $refs to other components. */
function propertyAt(name: string, path: string[]): Json {
  let schema = component(name);
  for (const key of path) {
    const properties = schema.properties as Record<string, Json>;
    let next = properties[key];
    if (next === undefined) throw new Error(`${name} has no ${path.join('.')}`);
    if (typeof next.$ref === 'string') next = component(next.$ref.replace('#/components/schemas/', ''));
    schema = next;
  }
  return schema;
}

describe('openApiDocument', () => {
  it('is a valid OpenAPI 3.1 document for the standard validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(document.openapi).toBe('3.1.0');
  });

  it.each(ROUTES)('documents %s with its operationId, SigV4 and its success answer', (name, route) => {
    const operation = operationOf(route);
    expect(operation.operationId).toBe(name);
    expect(operation.security).toEqual([{ sigv4: [] }]);
    const statuses = Object.keys(operation.responses as Json);
    expect(statuses.some((status) => status.startsWith('2'))).toBe(true);
    // What the function answers to a bad request, and what API Gateway answers an unsigned one.
    expect(statuses).toEqual(expect.arrayContaining(['400', '403', '500']));
    const parameters = (operation.parameters as Array<{ in: string; name: string; required?: boolean }>) ?? [];
    for (const [, name] of route.path.matchAll(/\{([^/{}]+)\}/g)) {
      expect(parameters).toContainEqual(expect.objectContaining({ in: 'path', name, required: true }));
    }
  });

  it('lists every route of the backend and nothing else', () => {
    const listed = Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(listed.sort()).toEqual(ROUTES.map(([, route]) => `${route.method} ${route.path}`).sort());
  });

  it('declares the sigv4 scheme as API Gateway IAM authorisation (execute-api)', () => {
    const schemes = (document.components as { securitySchemes: Record<string, Json> }).securitySchemes;
    expect(schemes.sigv4).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect(schemes.sigv4?.description).toMatch(/Signature Version 4/);
    expect(schemes.sigv4?.description).toMatch(/execute-api/);
    expect(document.security).toEqual([{ sigv4: [] }]);
  });

  it('takes each request body from the schema that validates it', () => {
    const body = (route: Route) =>
      (operationOf(route).requestBody as { content: Record<string, { schema: Json }> }).content['application/json']
        ?.schema;
    expect(body(APP_BACKEND_ROUTES.createOrder)).toMatchObject({
      additionalProperties: false,
      required: expect.arrayContaining(['description', 'amount', 'trade_type', 'scene_info']),
    });
    expect(body(APP_BACKEND_ROUTES.createRefund)).toMatchObject({
      properties: { amount: { properties: { refund: { type: 'integer' } } } },
    });
    expect(body(APP_BACKEND_ROUTES.createMiniProgramSession)).toMatchObject({ required: ['code'] });
    expect(body(APP_BACKEND_ROUTES.decryptMiniProgramData)).toMatchObject({
      required: ['openid', 'encrypted_data', 'iv'],
    });
    expect(body(BILL_ROUTES.createReconciliation)).toMatchObject({
      properties: { bill_date: { pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
    });
    const query = operationOf(APP_BACKEND_ROUTES.listEvents).parameters;
    expect(query).toContainEqual(expect.objectContaining({ in: 'query', name: 'after' }));
    expect(query).toContainEqual(expect.objectContaining({ in: 'query', name: 'limit' }));
  });

  it.each([
    ['Order', ['created_at']],
    ['Order', ['updated_at']],
    ['Order', ['expires_at']],
    ['Order', ['checks_exhausted_at']],
    ['Order', ['payment', 'paid_at']],
    ['Order', ['late_payment', 'paid_at']],
    ['Order', ['late_payment', 'received_at']],
    ['Refund', ['created_at']],
    ['Refund', ['updated_at']],
    ['Refund', ['success_time']],
    ['Event', ['created_at']],
    ['Reconciliation', ['reconciled_at']],
  ])('says %s.%s is a date-time', (name, path) => {
    expect(propertyAt(name, path)).toMatchObject({ type: 'string', format: 'date-time' });
  });

  it.each([
    ['Amount', ['total']],
    ['Order', ['refund', 'refundable']],
    ['Refund', ['amount', 'refund']],
    ['Refund', ['amount', 'total']],
    ['Reconciliation', ['counts', 'matched']],
    ['DiscrepancySide', ['amount']],
  ])('says %s.%s is an integer', (name, path) => {
    expect(propertyAt(name, path)).toMatchObject({ type: 'integer' });
  });

  it("refuses an answer with WeChat's raw v2 time or an amount in yuan", () => {
    const validate = openApiResponseValidator(document);
    const refund = {
      out_refund_no: 'R1',
      out_trade_no: 'ORDER001',
      status: 'SUCCESS',
      amount: { refund: 30, total: 100, currency: 'CNY' },
      created_at: '2026-01-01T10:00:00+08:00',
      updated_at: '2026-01-01T10:00:05Z',
      success_time: '2026-01-01T10:00:05+08:00',
    };
    expect(validate(APP_BACKEND_ROUTES.getRefund, 200, refund).problems).toEqual([]);
    expect(
      validate(APP_BACKEND_ROUTES.getRefund, 200, { ...refund, success_time: '20260101100005' }).problems,
    ).not.toEqual([]);
    expect(
      validate(APP_BACKEND_ROUTES.getRefund, 200, { ...refund, created_at: '2026-01-01T10:00:00' }).problems,
    ).not.toEqual([]);
    expect(
      validate(APP_BACKEND_ROUTES.getRefund, 200, { ...refund, amount: { ...refund.amount, refund: 0.3 } }).problems,
    ).not.toEqual([]);
    expect(validate(APP_BACKEND_ROUTES.getRefund, 201, refund).problems).toEqual([
      expect.stringMatching(/status 201 is not documented/),
    ]);
  });

  it.each(ROUTES)(
    "documents API Gateway's own answers on %s: 413, 429 and 503 with its { message } body",
    (_, route) => {
      const validate = openApiResponseValidator(document);
      for (const [status, message] of [
        [413, 'Request Entity Too Large'],
        [429, 'Too Many Requests'],
        [503, 'Service Unavailable'],
      ] as const) {
        expect(validate(route, status, { message }).problems, `${status}`).toEqual([]);
      }
    },
  );

  it("documents the mini program login's own 429 beside API Gateway's throttling", () => {
    const validate = openApiResponseValidator(document);
    const route = APP_BACKEND_ROUTES.createMiniProgramSession;
    expect(validate(route, 429, { message: 'Too Many Requests' }).problems).toEqual([]);
    expect(validate(route, 429, { error: { code: 'RATE_LIMITED', message: 'try later' } }).problems).toEqual([]);
    expect(validate(route, 429, { error: 'RATE_LIMITED' }).problems).not.toEqual([]);
  });

  it('names the server it is given, and answers a copy its caller may change', () => {
    const served = openApiDocument({ serverUrl: 'http://127.0.0.1:3000' });
    expect(served.servers).toEqual([{ url: 'http://127.0.0.1:3000' }]);
    expect(Object.keys(served).slice(0, 3)).toEqual(['openapi', 'info', 'servers']);
    expect(document.servers).toBeUndefined();
    (served.info as Json).title = 'changed';
    expect((openApiDocument().info as Json).title).not.toBe('changed');
  });
});
