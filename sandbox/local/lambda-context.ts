import { randomBytes, randomUUID } from 'node:crypto';

import type { Context } from 'aws-lambda';

/** The account id every local ARN carries; nothing local belongs to a real account. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalFunction {
  /** Named as in AWS, so logs and ARNs read the same. */
  functionName: string;
  /** The function's configured timeout: past it the invocation fails, as Lambda's would. */
  timeoutMs: number;
  memoryMb?: number;
  region: string;
}

function logStreamName(now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/** A Lambda context with the fields handlers and Powertools read, counting down from `startedAt`. */
export function createLambdaContext(fn: LocalFunction, startedAt = Date.now()): Context {
  const deadline = startedAt + fn.timeoutMs;
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported locally: return a promise from the handler`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${LOCAL_ACCOUNT_ID}:function:${fn.functionName}`,
    memoryLimitInMB: String(fn.memoryMb ?? 512),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: logStreamName(new Date(startedAt)),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

export type Invocation<R> = { ok: true; result: R } | { ok: false; error: unknown; timedOut: boolean };

/**
 * Runs one invocation the way Lambda would judge it: a throw or a run past the timeout is a function
 * error. The handler cannot be killed in-process, so a timed-out run goes on in the background; its
 * late result is ignored, as Lambda would have frozen it.
 */
export async function invoke<E, R>(
  fn: LocalFunction,
  handler: (event: E, context: Context) => Promise<R>,
  event: E,
): Promise<Invocation<R>> {
  const context = createLambdaContext(fn);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Invocation<R>>((resolve) => {
    timer = setTimeout(() => {
      resolve({
        ok: false,
        timedOut: true,
        error: new Error(`Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`),
      });
    }, fn.timeoutMs);
  });
  const run = (async (): Promise<Invocation<R>> => {
    try {
      return { ok: true, result: await handler(event, context) };
    } catch (error) {
      return { ok: false, error, timedOut: false };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Formats a function error as Lambda writes it to the function's log. */
export function describeFunctionError(fn: LocalFunction, outcome: { error: unknown }): string {
  const error = outcome.error;
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return `[${fn.functionName}] function error: ${text}`;
}
