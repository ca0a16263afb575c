import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

import { httpErrors } from '#shared/app/http-errors';
import {
  AppError,
  BillNotReadyError,
  BillRefusedError,
  ConfigurationError,
  ConflictError,
  LoginRefusedError,
  NotFoundError,
  ProviderError,
  UserDataRejectedError,
  ValidationError,
  WechatApiError,
} from '#shared/domain/errors';

const context = {} as Context;
const event = { routeKey: 'POST /orders' } as APIGatewayProxyEventV2;

function handlerThrowing(err: unknown) {
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  const logged = vi.spyOn(logger, 'error');
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpErrors(logger))
    .handler(async () => {
      throw err;
    });
  return { handler, logged };
}

async function answer(err: unknown) {
  const { handler, logged } = handlerThrowing(err);
  const response = await handler(event, context);
  return { status: response.statusCode, body: JSON.parse(response.body ?? '{}') as unknown, logged };
}

describe('httpErrors: the one place errors become HTTP', () => {
  it('400 names the field of a validation error', async () => {
    const { status, body } = await answer(new ValidationError('amount.total must be positive', 'amount.total'));
    expect(status).toBe(400);
    expect(body).toEqual({
      error: { code: 'INVALID_REQUEST', message: 'amount.total must be positive', field: 'amount.total' },
    });
  });

  it('404 and 409 carry the code and message', async () => {
    expect((await answer(new NotFoundError('no order'))).status).toBe(404);
    const conflict = await answer(new ConflictError('ORDERPAID', 'the order is paid'));
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({ error: { code: 'ORDERPAID', message: 'the order is paid' } });
  });

  it("502 for WeChat's failures, saying whether a retry may help, and logs it", async () => {
    const err = new ProviderError('SYSTEMERROR', 'busy', { retryable: true, kind: 'business', httpStatus: 500 });
    const { status, body, logged } = await answer(err);
    expect(status).toBe(502);
    expect(body).toEqual({ error: { code: 'SYSTEMERROR', message: 'WeChat Pay: busy', retryable: true } });
    expect(logged).toHaveBeenCalledTimes(1);
  });

  it('502 for a failure of WeChat’s API (the mini program login) says WeChat, not WeChat Pay', async () => {
    const err = new WechatApiError('SYSTEM_BUSY', 'jscode2session refused: -1 system error', {
      retryable: true,
      kind: 'business',
      rawCode: '-1',
    });
    const { status, body } = await answer(err);
    expect(status).toBe(502);
    expect(body).toEqual({
      error: { code: 'SYSTEM_BUSY', message: 'WeChat: jscode2session refused: -1 system error', retryable: true },
    });
  });

  it('an unexpected error is a 500 that reveals nothing of its message', async () => {
    const plain = await answer(new Error('connect ECONNREFUSED 10.0.0.7:8000'));
    expect(plain.status).toBe(500);
    expect(JSON.stringify(plain.body)).not.toContain('10.0.0.7');
    const app = await answer(new AppError('STORE_DOWN', 'table orders-prod throttled'));
    expect(app.body).toEqual({ error: { code: 'STORE_DOWN', message: 'internal error' } });
  });

  it('a ConfigurationError fails the invocation (Lambda errors alarm) and is logged, never answered', async () => {
    const { handler, logged } = handlerThrowing(new ConfigurationError('privateKey: not an RSA private key'));
    await expect(handler(event, context)).rejects.toBeInstanceOf(ConfigurationError);
    expect(logged).toHaveBeenCalledTimes(1);
  });
});

describe('httpErrors: refunds', () => {
  it.each([
    'OUT_REFUND_NO_USED',
    'ORDER_NOT_PAID',
    'REFUND_AMOUNT_EXCEEDED',
    'TOO_MANY_REFUNDS',
    'REFUND_WINDOW_CLOSED',
  ])('the domain’s %s is a 409 with that code', async (code) => {
    const { status, body } = await answer(new ConflictError(code, 'refused'));
    expect(status).toBe(409);
    expect(body).toEqual({ error: { code, message: 'refused' } });
  });

  it('a refund WeChat refused is a 502 with WeChat’s code and whether to retry (the same out_refund_no)', async () => {
    const busy = new ProviderError('NOTENOUGH', 'insufficient balance', { retryable: true, kind: 'business' });
    expect(await answer(busy)).toMatchObject({
      status: 502,
      body: { error: { code: 'NOTENOUGH', retryable: true } },
    });
    const final = new ProviderError('REFUND_FEE_MISMATCH', 'amount differs', { retryable: false, kind: 'business' });
    expect(await answer(final)).toMatchObject({
      status: 502,
      body: { error: { code: 'REFUND_FEE_MISMATCH', retryable: false } },
    });
  });
});

describe('httpErrors: mini program login', () => {
  it.each([
    ['INVALID_CODE', 40029],
    ['CODE_USED', 40163],
  ] as const)('WeChat’s refusal %s is a 400 on the field code, with WeChat’s errcode', async (code, errcode) => {
    const { status, body } = await answer(new LoginRefusedError(code, 'get a new code', errcode));
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code, message: 'get a new code', field: 'code', wechat_errcode: errcode } });
  });

  it('the rate limit is a 429 telling to retry in a minute (retry-after: 60)', async () => {
    const { handler } = handlerThrowing(new LoginRefusedError('RATE_LIMITED', 'later', 45011));
    const response = await handler(event, context);
    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({ 'retry-after': '60' });
    expect(JSON.parse(response.body ?? '')).toEqual({
      error: { code: 'RATE_LIMITED', message: 'later', wechat_errcode: 45011 },
    });
  });

  it('a high-risk user is a 403', async () => {
    expect(await answer(new LoginRefusedError('HIGH_RISK_USER', 'refused', 40226))).toMatchObject({
      status: 403,
      body: { error: { code: 'HIGH_RISK_USER', wechat_errcode: 40226 } },
    });
  });

  it.each(['USER_DATA_UNDECRYPTABLE', 'WATERMARK_MISMATCH'] as const)(
    'rejected user data (%s) is a 400',
    async (code) => {
      expect(await answer(new UserDataRejectedError(code, 'rejected'))).toMatchObject({
        status: 400,
        body: { error: { code, message: 'rejected' } },
      });
    },
  );

  it('no session kept is a 404 SESSION_NOT_FOUND: the caller logs the user in again', async () => {
    expect(await answer(new NotFoundError('log in again', { code: 'SESSION_NOT_FOUND' }))).toMatchObject({
      status: 404,
      body: { error: { code: 'SESSION_NOT_FOUND' } },
    });
  });
});

describe('httpErrors: bill reconciliation', () => {
  it('a bill WeChat is still generating is a 409 BILL_NOT_READY saying when to ask again (retry-after)', async () => {
    const { handler, logged } = handlerThrowing(new BillNotReadyError('WeChat is still generating the bill', 1800));
    const response = await handler(event, context);
    expect(response.statusCode).toBe(409);
    expect(response.headers).toMatchObject({ 'retry-after': '1800' });
    expect(JSON.parse(response.body ?? '')).toEqual({
      error: { code: 'BILL_NOT_READY', message: 'WeChat is still generating the bill' },
    });
    // Not a failure of ours: nothing to log as an error.
    expect(logged).not.toHaveBeenCalled();
  });

  it('a refused bill (tampered: its hash or summary disagrees) is a 502 BILL_REFUSED that may be retried', async () => {
    expect(await answer(new BillRefusedError('the bill disagrees with its own summary'))).toMatchObject({
      status: 502,
      body: {
        error: {
          code: 'BILL_REFUSED',
          message: 'WeChat Pay: the bill disagrees with its own summary',
          retryable: true,
        },
      },
    });
  });
});
