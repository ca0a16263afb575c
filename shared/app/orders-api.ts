import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { ValidationError } from '../domain/errors';
import { parseCreateOrder, parseOutTradeNo } from './create-order-schema';
import type { Dependencies } from './dependencies';
import { errorBody, errorResponse, json } from './http-responses';
import { orderView } from './order-view';

/** API Gateway's payload cap is 10 MB; an order is a few hundred bytes. */
const MAX_BODY_BYTES = 16 * 1024;

/** POST /orders, GET /orders/{out_trade_no}, POST /orders/{out_trade_no}/close. */
export async function routeOrders(
  event: APIGatewayProxyEventV2,
  deps: Dependencies,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const method = event.requestContext.http.method;
    const route = event.routeKey;
    if (route === 'POST /orders' && method === 'POST') {
      const payments = await deps.payments();
      const order = await payments.create(parseCreateOrder(jsonBody(event), deps.clock.now()));
      return json(201, orderView(order));
    }
    if (route === 'GET /orders/{out_trade_no}' && method === 'GET') {
      const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
      const sync = event.queryStringParameters?.sync;
      if (sync !== undefined && sync !== '0' && sync !== '1') throw new ValidationError('sync must be 0 or 1', 'sync');
      const order = await (await deps.payments()).get(outTradeNo, { sync: sync === '1' });
      return json(200, orderView(order));
    }
    if (route === 'POST /orders/{out_trade_no}/close' && method === 'POST') {
      const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
      const order = await (await deps.payments()).close(outTradeNo);
      return json(200, orderView(order));
    }
    return json(404, errorBody('NOT_FOUND', `no route ${route}`));
  } catch (err) {
    const response = errorResponse(err);
    if (response.statusCode !== undefined && response.statusCode >= 500) {
      deps.observability.logger.error('orders request failed', { route: event.routeKey, error: err as Error });
    }
    return response;
  }
}

function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const raw =
    event.body === undefined
      ? ''
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES)
    throw new ValidationError(`body larger than ${MAX_BODY_BYTES} bytes`);
  const type = event.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json'))
    throw new ValidationError('content-type must be application/json');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ValidationError('body is not valid JSON');
  }
}
