import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as z from 'zod';

/**
 * What a running `npm start` tells the tools beside it (`npm run redrive-webhooks`): its SQS server's
 * address, which changes each start, and the webhook queues. Written once ready, removed at stop.
 */
export const RUNNING_STACK_FILE = 'running-stack.json';

const runningStackSchema = z.object({
  pid: z.number().int(),
  region: z.string().min(1),
  sqsEndpoint: z.url(),
  webhookQueueUrl: z.url().optional(),
  webhookDlqUrl: z.url().optional(),
  /** For `npm run orders`: the store of the running stack. */
  dynamodbEndpoint: z.url().optional(),
  tableName: z.string().min(1).optional(),
});
export type RunningStack = z.infer<typeof runningStackSchema>;

export function writeRunningStack(dataDir: string, stack: RunningStack): void {
  writeFileSync(join(dataDir, RUNNING_STACK_FILE), `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
}

export function removeRunningStack(dataDir: string): void {
  rmSync(join(dataDir, RUNNING_STACK_FILE), { force: true });
}

/** The running stack's file, or undefined when none is running (no file, or its process is gone). */
export function readRunningStack(dataDir: string): RunningStack | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, RUNNING_STACK_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = runningStackSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return isAlive(parsed.data.pid) ? parsed.data : undefined;
}

function isAlive(pid: number): boolean {
  try {
    // Signal 0 checks that the process exists without touching it.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
