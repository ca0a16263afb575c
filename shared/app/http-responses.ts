import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export function json(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** Beside code, message and field: what else the caller may act on (WeChat's `wechat_errcode`). */
export type ErrorDetails = Readonly<Record<string, string | number>>;

export function errorBody(
  code: string,
  message: string,
  field?: string,
  details: ErrorDetails = {},
): { error: Record<string, string | number> } {
  return { error: { code, message, ...(field ? { field } : {}), ...details } };
}
