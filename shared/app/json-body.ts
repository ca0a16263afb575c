import type { APIGatewayProxyEventV2 } from 'aws-lambda';

import { ValidationError } from '../domain/errors';
import { eventBody } from './event-body';

/** A JSON request body, parsed: at most `maxBytes`, sent as application/json. Else a 400. */
export function jsonBody(event: APIGatewayProxyEventV2, maxBytes: number): unknown {
  const raw = eventBody(event);
  if (Buffer.byteLength(raw, 'utf8') > maxBytes) throw new ValidationError(`body larger than ${maxBytes} bytes`);
  const type = event.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json'))
    throw new ValidationError('content-type must be application/json');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ValidationError('body is not valid JSON');
  }
}
