/**
 * Runs ONE invocation of a deployed bundle the way the Lambda Node.js runtime does, in a process of
 * its own on the Lambda's Node major: import the handler module from the task root (as ESM, by file
 * URL), build the context (with a deadline, getRemainingTimeInMillis and the ids handlers log), await
 * `handler(event, context)`. The event comes on stdin; the outcome goes as JSON to fd 3, because the
 * handler's own logs use stdout and stderr as in Lambda.
 *
 * Started by node directly (type stripping), not by tsx: only node: imports and erasable syntax.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Invocation {
  event: unknown;
  /** How long the invocation may take from now (the function's timeout, or what is left of it). */
  remainingMs: number;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function report(outcome: unknown): Promise<void> {
  return new Promise((resolve) => {
    const out = createWriteStream('', { fd: 3 });
    out.end(JSON.stringify(outcome), () => resolve());
  });
}

async function main(): Promise<void> {
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  // `_HANDLER` is `file.export`, as the runtime reads it; the runtime tries .mjs before .js.
  const [file, exportName] = (process.env._HANDLER ?? 'index.handler').split('.');
  const input = JSON.parse(await readStdin()) as Invocation;
  const deadline = Date.now() + input.remainingMs;
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: randomUUID(),
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const module = (await import(pathToFileURL(join(taskRoot, `${file}.mjs`)).href)) as Record<string, unknown>;
    const handler = module[exportName ?? 'handler'];
    if (typeof handler !== 'function') throw new Error(`${file}.mjs exports no function "${exportName}"`);
    const result = await Promise.race([
      (handler as Handler)(input.event, context),
      new Promise((_, reject) => {
        setTimeout(() => reject(new Error('Task timed out')), input.remainingMs).unref();
      }),
    ]);
    await report({ ok: true, result: result ?? null, node: process.version });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    await report({ ok: false, error: { name: e.name, message: e.message, stack: e.stack }, node: process.version });
  }
  // Lambda freezes the sandbox after the answer; here the process ends instead of waiting for
  // keep-alive sockets the SDK clients hold open.
  process.exit(0);
}

await main();
