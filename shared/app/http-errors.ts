import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';

import {
  AppError,
  BillNotReadyError,
  ConfigurationError,
  ConflictError,
  type LoginRefusal,
  LoginRefusedError,
  NotFoundError,
  ProviderError,
  UserDataRejectedError,
  ValidationError,
  WechatApiError,
} from '../domain/errors';
import { errorBody, json } from './http-responses';

/**
 * The one place where errors become HTTP answers. The caller learns what it can act on; a broken
 * deployment (ConfigurationError) is not its business: it is logged and rethrown, so the invocation
 * fails, API Gateway answers 500 and the Lambda error alarm fires.
 */
export function errorResponse(err: unknown): APIGatewayProxyStructuredResultV2 {
  if (err instanceof ValidationError) return json(400, errorBody(err.code, err.message, err.field));
  if (err instanceof NotFoundError) return json(404, errorBody(err.code, err.message));
  if (err instanceof ConflictError) return json(409, errorBody(err.code, err.message));
  // The day's bill is still being generated at WeChat: the same request succeeds later, and says when.
  if (err instanceof BillNotReadyError) {
    const retryAfter = String(err.retryAfterSeconds);
    return json(409, errorBody(err.code, err.message), { 'retry-after': retryAfter });
  }
  if (err instanceof LoginRefusedError) return loginRefusalResponse(err);
  if (err instanceof UserDataRejectedError) return json(400, errorBody(err.code, err.message));
  if (err instanceof ProviderError) {
    // The login is WeChat's API (api.weixin.qq.com), not WeChat Pay's: the caller is told which failed.
    const service = err instanceof WechatApiError ? 'WeChat' : 'WeChat Pay';
    return json(502, { error: { code: err.code, message: `${service}: ${err.message}`, retryable: err.retryable } });
  }
  // Anything else says nothing about the inside: its code at most.
  if (err instanceof AppError) return json(500, errorBody(err.code, 'internal error'));
  return json(500, errorBody('INTERNAL', 'internal error'));
}

/**
 * WeChat's quota for the login is per minute ("retry next minute"): a caller told to come back
 * sooner would only be refused again.
 */
export const LOGIN_RETRY_AFTER_SECONDS = 60;

/** Each refusal of a login code: its status, and the request field at fault when it is the code. */
const LOGIN_REFUSALS: Readonly<Record<LoginRefusal, { status: number; field?: string }>> = {
  INVALID_CODE: { status: 400, field: 'code' },
  CODE_USED: { status: 400, field: 'code' },
  RATE_LIMITED: { status: 429 },
  HIGH_RISK_USER: { status: 403 },
};

/** WeChat's refusal of a login, with its errcode for the caller (and a support ticket). */
function loginRefusalResponse(err: LoginRefusedError): APIGatewayProxyStructuredResultV2 {
  const { status, field } = LOGIN_REFUSALS[err.code as LoginRefusal] ?? { status: 400 };
  const body = errorBody(err.code, err.message, field, { wechat_errcode: err.wechatErrcode });
  return json(status, body, status === 429 ? { 'retry-after': String(LOGIN_RETRY_AFTER_SECONDS) } : {});
}

/**
 * The answer to a request that failed, as errorResponse makes it, with 5xx logged. A ConfigurationError
 * is logged and thrown again: the invocation fails (API Gateway answers 500, the error alarm fires).
 */
export function answerError(logger: Logger, routeKey: string, err: unknown): APIGatewayProxyStructuredResultV2 {
  if (err instanceof ConfigurationError) {
    logger.error('misconfigured: failing the invocation', { error: err });
    throw err;
  }
  const response = errorResponse(err);
  if ((response.statusCode ?? 500) >= 500) {
    logger.error('request failed', { route: routeKey, error: err as Error });
  }
  return response;
}

/** A middy onError layer for API Gateway handlers: see answerError. */
export function httpErrors(logger: Logger): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError(request) {
      try {
        request.response = answerError(logger, request.event.routeKey, request.error);
      } catch {
        // Left as the invocation's error (a ConfigurationError, logged): middy rethrows it.
      }
    },
  };
}
