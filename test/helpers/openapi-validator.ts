import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { type Route } from '#shared/app/routes';

/**
 * Real answers against the OpenAPI document: each body is validated (JSON Schema 2020-12, formats
 * such as date-time checked) against the schema the document gives for its route and status. A status
 * the document does not list for the route is a failure of its own.
 */

export interface ResponseCheck {
  /** The statuses the document lists for the route. */
  documented: string[];
  /** Why the answer does not match; empty when it does. */
  problems: string[];
}

type Validate = (route: Route, status: number, body: unknown) => ResponseCheck;

/** One JSON Pointer segment, as a URI fragment holds it. */
function pointerSegment(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

interface Responses {
  [status: string]: { content?: Record<string, { schema?: unknown }> };
}

function responsesOf(document: Record<string, unknown>, route: Route): Responses {
  const paths = document.paths as Record<string, Record<string, { responses?: Responses }>> | undefined;
  const responses = paths?.[route.path]?.[route.method.toLowerCase()]?.responses;
  if (responses === undefined) throw new Error(`the document has no ${route.method} ${route.path}`);
  return responses;
}

export function openApiResponseValidator(document: Record<string, unknown>): Validate {
  // strict off: the document is OpenAPI around JSON Schemas, and its keywords (openapi, paths…) are not Ajv's.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'openapi');
  return (route, status, body) => {
    const responses = responsesOf(document, route);
    const documented = Object.keys(responses);
    const response = responses[String(status)];
    if (response === undefined) {
      return { documented, problems: [`status ${status} is not documented (only ${documented.join(', ')})`] };
    }
    if (response.content?.['application/json']?.schema === undefined) {
      return { documented, problems: [`status ${status} documents no application/json body`] };
    }
    const pointer = ['paths', route.path, route.method.toLowerCase(), 'responses', String(status), 'content']
      .concat(['application/json', 'schema'])
      .map(pointerSegment)
      .join('/');
    const validate = ajv.getSchema(`openapi#/${pointer}`);
    if (validate === undefined) throw new Error(`no schema at ${pointer}`);
    if (validate(body)) return { documented, problems: [] };
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`,
    );
    return { documented, problems };
  };
}
