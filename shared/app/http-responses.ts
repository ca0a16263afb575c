import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { AppError, ConflictError, NotFoundError, ProviderError, ValidationError } from '../domain/errors';

export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

export function errorBody(code: string, message: string, field?: string): { error: Record<string, string> } {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** Maps the domain's errors onto HTTP; anything unexpected is a 500 that reveals nothing. */
export function errorResponse(err: unknown): APIGatewayProxyStructuredResultV2 {
  if (err instanceof ValidationError) return json(400, errorBody(err.code, err.message, err.field));
  if (err instanceof NotFoundError) return json(404, errorBody(err.code, err.message));
  if (err instanceof ConflictError) return json(409, errorBody(err.code, err.message));
  if (err instanceof ProviderError) {
    return json(502, { error: { code: err.code, message: `WeChat Pay: ${err.message}`, retryable: err.retryable } });
  }
  if (err instanceof AppError) return json(500, errorBody(err.code, err.message));
  return json(500, errorBody('INTERNAL', 'internal error'));
}
