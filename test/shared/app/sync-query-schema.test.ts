import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { ValidationError } from '#shared/domain/errors';
import { openApiDocument } from '#shared/app/openapi-document';
import { APP_BACKEND_ROUTES, type Route } from '#shared/app/routes';
import { parseSyncQuery } from '#shared/app/sync-query-schema';

/** The `sync` rule is one: what the handlers accept is what the document says, on both routes that take it. */

function documentedSync(route: Route): Record<string, unknown> {
  const paths = openApiDocument().paths as Record<string, Record<string, { parameters?: unknown[] }>>;
  const parameters = (paths[route.path]?.[route.method.toLowerCase()]?.parameters ?? []) as Array<{
    in: string;
    name: string;
    schema: Record<string, unknown>;
  }>;
  const sync = parameters.find((p) => p.in === 'query' && p.name === 'sync');
  if (sync === undefined) throw new Error(`${route.path} documents no sync`);
  return sync.schema;
}

function accepts(query: Record<string, string | undefined>): boolean {
  try {
    parseSyncQuery(query);
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

describe('?sync=', () => {
  it('1 asks WeChat first; 0 or none answers from storage', () => {
    expect(parseSyncQuery({ sync: '1' })).toBe(true);
    expect(parseSyncQuery({ sync: '0' })).toBe(false);
    expect(parseSyncQuery({})).toBe(false);
    expect(parseSyncQuery(undefined)).toBe(false);
  });

  it('anything else is a 400 naming sync', () => {
    for (const sync of ['', '2', 'true', ' 1', '01']) {
      expect(() => parseSyncQuery({ sync })).toThrow(new ValidationError('sync must be 0 or 1', 'sync'));
      expect(() => parseSyncQuery({ sync })).toThrow(expect.objectContaining({ field: 'sync' }));
    }
  });

  it.each([APP_BACKEND_ROUTES.getOrder, APP_BACKEND_ROUTES.getRefund])(
    "the document's sync of $path accepts exactly what the handler does",
    (route) => {
      const validate = new Ajv2020({ strict: false }).compile(documentedSync(route));
      for (const sync of ['0', '1', '', '2', 'true', ' 1', '01']) {
        expect(validate(sync), sync).toBe(accepts({ sync }));
      }
    },
  );
});
