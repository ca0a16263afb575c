/**
 * What one request to DynamoDB, SQS or WeChat Pay was, read from what crosses the wire: the
 * X-Amz-Target header of the AWS JSON protocols, and the path of WeChat's v2 API.
 */

export type Service = 'dynamodb' | 'sqs' | 'wechat';

export type Kind =
  | 'read'
  | 'write'
  | 'send'
  | 'receive'
  | 'receive-empty'
  | 'delete'
  | 'call'
  /** Set-up and inspection (CreateTable, GetQueueAttributes, …): not part of handling a payment. */
  | 'control';

export interface Classified {
  service: Service;
  /** The API operation: GetItem, SendMessage, unifiedorder, … */
  op: string;
  kind: Kind;
  /** DynamoDB capacity units the request consumed, when the answer says. */
  capacityUnits?: number;
}

export const DYNAMODB_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
export const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** The data operations, which accept ReturnConsumedCapacity. */
export const DYNAMODB_DATA_OPS = new Set([...DYNAMODB_READS, ...DYNAMODB_WRITES]);

/** `DynamoDB_20120810.GetItem` → `GetItem`; `AmazonSQS.SendMessage` → `SendMessage`. */
export function operationOf(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const dot = target.lastIndexOf('.');
  return dot < 0 ? undefined : target.slice(dot + 1);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** Capacity units an answer reports; `table` and `indexes` only when asked with ReturnConsumedCapacity INDEXES. */
export interface Capacity {
  total?: number;
  table?: number;
  indexes?: number;
}

/** Sums the ConsumedCapacity of an answer (an object, or a list for batches and transactions). */
export function consumedCapacity(responseBody: string): Capacity {
  const answer = parseJson(responseBody);
  const consumed = (answer as { ConsumedCapacity?: unknown } | null | undefined)?.ConsumedCapacity;
  const list = (Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) as Array<{
    CapacityUnits?: unknown;
    Table?: { CapacityUnits?: unknown };
    GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: unknown }>;
  } | null>;
  const out: Capacity = {};
  const add = (key: keyof Capacity, units: unknown) => {
    if (typeof units === 'number') out[key] = (out[key] ?? 0) + units;
  };
  for (const entry of list) {
    add('total', entry?.CapacityUnits);
    add('table', entry?.Table?.CapacityUnits);
    for (const index of Object.values(entry?.GlobalSecondaryIndexes ?? {})) add('indexes', index.CapacityUnits);
  }
  return out;
}

export function classifyDynamoDb(target: string | undefined, responseBody: string): Classified {
  const op = operationOf(target) ?? 'unknown';
  const kind: Kind = DYNAMODB_READS.has(op) ? 'read' : DYNAMODB_WRITES.has(op) ? 'write' : 'control';
  const units = kind === 'control' ? undefined : consumedCapacity(responseBody).total;
  return { service: 'dynamodb', op, kind, ...(units === undefined ? {} : { capacityUnits: units }) };
}

export function classifySqs(target: string | undefined, responseBody: string): Classified {
  const op = operationOf(target) ?? 'unknown';
  let kind: Kind = 'control';
  if (op === 'SendMessage' || op === 'SendMessageBatch') kind = 'send';
  else if (op === 'DeleteMessage' || op === 'DeleteMessageBatch') kind = 'delete';
  else if (op === 'ReceiveMessage') {
    const messages = (parseJson(responseBody) as { Messages?: unknown[] } | undefined)?.Messages;
    // An empty long poll is what an idle event source does all day: a fixed cost, not a payment's.
    kind = Array.isArray(messages) && messages.length > 0 ? 'receive' : 'receive-empty';
  }
  return { service: 'sqs', op, kind };
}

/** WeChat Pay v2: `/pay/unifiedorder` → `unifiedorder`; anything outside /pay and /secapi is not a merchant call. */
export function classifyWechat(path: string): Classified {
  const clean = path.split('?')[0] ?? path;
  const match = /^\/(?:sandboxnew\/)?(?:pay|secapi\/pay)\/([A-Za-z_]+)$/.exec(clean);
  return match
    ? { service: 'wechat', op: match[1] as string, kind: 'call' }
    : { service: 'wechat', op: clean, kind: 'control' };
}

/**
 * Asks DynamoDB to report what a data request consumed, so the bench counts capacity units as
 * DynamoDB bills them (INDEXES: the same total, split between the table and each index); the body is
 * returned unchanged when it is not a data request, not JSON, or already asks.
 */
export function withConsumedCapacity(
  target: string | undefined,
  body: string,
  mode: 'TOTAL' | 'INDEXES' = 'TOTAL',
): string {
  const op = operationOf(target);
  if (op === undefined || !DYNAMODB_DATA_OPS.has(op)) return body;
  const request = parseJson(body);
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return body;
  if ('ReturnConsumedCapacity' in request) return body;
  return JSON.stringify({ ...request, ReturnConsumedCapacity: mode });
}
