/**
 * `npm run redrive-webhooks`: moves every event waiting in the webhook dead-letter queue back to the
 * webhook queue, to be delivered again (after the merchant's receiver is fixed). Against the running
 * `npm start` by default; with `--dlq-url` and `--queue-url` (and `--endpoint`, `--region`) against any
 * SQS, AWS's included (credentials from the usual AWS environment).
 *
 *   npm run redrive-webhooks
 *   npm run redrive-webhooks -- --dlq-url https://sqs.<region>.amazonaws.com/<account>/<name>-dlq.fifo \
 *                               --queue-url https://sqs.<region>.amazonaws.com/<account>/<name>.fifo
 */
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import * as z from 'zod';

import { localSqsClient } from './resources';
import { readRunningStack } from './running-stack-file';

export interface RedriveOptions {
  sqs: SQSClient;
  dlqUrl: string;
  queueUrl: string;
  /** The long poll that decides the dead-letter queue is empty. */
  waitTimeSeconds?: number;
  log?: (line: string) => void;
}

/** How long a received dead letter stays hidden while it is sent on and deleted. */
const IN_HAND_SECONDS = 60;

/**
 * Receive, send on, delete, one message at a time in the order received, until a receive finds none.
 *
 * Each keeps its body, attributes and message group (so one order's events go back in their order).
 * Its deduplication id is the dead letter's message id: SQS gives a message moved to a FIFO
 * dead-letter queue its original message id as deduplication id (the event id is gone by then), and a
 * send that failed half-way and is run again within five minutes is still dropped as a repeat. Sending
 * it with the event id instead would be dropped silently when the event was first queued less than
 * five minutes ago. The webhook-id the receiver sees is the event id in the body, whatever the
 * deduplication id.
 *
 * Events of the same order queued since are not held back for a redriven one: it is delivered after
 * them, and a receiver orders by the event's created_at.
 */
export async function redriveMessages(options: RedriveOptions): Promise<{ moved: number }> {
  const { sqs, dlqUrl, queueUrl } = options;
  const fifo = queueUrl.endsWith('.fifo');
  let moved = 0;
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: options.waitTimeSeconds ?? 1,
        VisibilityTimeout: IN_HAND_SECONDS,
        MessageSystemAttributeNames: ['MessageGroupId'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (messages.length === 0) return { moved };
    for (const message of messages) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...resend(message, fifo) }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
      moved += 1;
      options.log?.(`moved ${message.MessageId ?? '?'}`);
    }
  }
}

function resend(message: Message, fifo: boolean) {
  const group = message.Attributes?.MessageGroupId;
  if (fifo && (group === undefined || message.MessageId === undefined)) {
    throw new Error(`dead letter ${message.MessageId ?? '?'} has no message group: not from a FIFO queue`);
  }
  return {
    MessageBody: message.Body ?? '',
    ...(message.MessageAttributes !== undefined ? { MessageAttributes: message.MessageAttributes } : {}),
    ...(fifo ? { MessageGroupId: group, MessageDeduplicationId: message.MessageId } : {}),
  };
}

// ---- The command ------------------------------------------------------------------------------

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export class RedriveUsageError extends Error {}

const argsSchema = z.object({
  'dlq-url': z.url().optional(),
  'queue-url': z.url().optional(),
  endpoint: z.url().optional(),
  region: z.string().min(1).optional(),
});

export interface RedriveTarget {
  dlqUrl: string;
  queueUrl: string;
  sqs: SQSClient;
}

/** `sqs.<region>.amazonaws.com` (and the local server's `sqs.<region>.localhost`) name their region. */
function regionOfQueueUrl(url: string): string | undefined {
  return /^sqs\.([a-z0-9-]+)\./.exec(new URL(url).hostname)?.[1];
}

/** What to redrive, from the arguments, else from the running local stack in DATA_DIR. */
export function redriveTarget(argv: string[], env: Record<string, string | undefined>): RedriveTarget {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dlq-url': { type: 'string' },
      'queue-url': { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    throw new RedriveUsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const args = parsed.data;
  if (args['dlq-url'] !== undefined || args['queue-url'] !== undefined) {
    const dlqUrl = args['dlq-url'];
    const queueUrl = args['queue-url'];
    if (dlqUrl === undefined || queueUrl === undefined) {
      throw new RedriveUsageError('give both --dlq-url and --queue-url');
    }
    const region = args.region ?? env.AWS_REGION ?? regionOfQueueUrl(queueUrl);
    const endpoint = args.endpoint;
    const loopback = endpoint !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
    // The local server takes any credentials; AWS's come from the usual environment.
    const sqs = loopback ? localSqsClient(endpoint) : new SQSClient({ region, endpoint });
    return { dlqUrl, queueUrl, sqs };
  }
  const dataDir =
    env.DATA_DIR === undefined || env.DATA_DIR.trim() === ''
      ? join(REPO_ROOT, '.local-data')
      : isAbsolute(env.DATA_DIR)
        ? env.DATA_DIR
        : resolve(env.DATA_DIR);
  const running = readRunningStack(dataDir);
  if (running === undefined) {
    throw new RedriveUsageError(
      `no local stack is running on ${dataDir} (start it with npm start), or give --dlq-url and --queue-url`,
    );
  }
  if (running.webhookDlqUrl === undefined || running.webhookQueueUrl === undefined) {
    throw new RedriveUsageError('the running local stack has no webhook queue: MERCHANT_WEBHOOK_URL is not set');
  }
  return { dlqUrl: running.webhookDlqUrl, queueUrl: running.webhookQueueUrl, sqs: localSqsClient(running.sqsEndpoint) };
}

async function main(): Promise<void> {
  let target: RedriveTarget;
  try {
    target = redriveTarget(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`redrive-webhooks: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  try {
    const { moved } = await redriveMessages({ ...target, log: (line) => console.log(line) });
    console.log(`redrive-webhooks: moved ${moved} message(s) from ${target.dlqUrl} to ${target.queueUrl}`);
  } catch (error) {
    console.error(`redrive-webhooks: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    target.sqs.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
