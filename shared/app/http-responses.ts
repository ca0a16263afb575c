import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

export function errorBody(code: string, message: string, field?: string): { error: Record<string, string> } {
  return { error: { code, message, ...(field ? { field } : {}) } };
}
