/**
 * `npm run redrive-webhooks`: moves every event waiting in the running `npm start`'s webhook
 * dead-letter queue back to the webhook queue, to be delivered again (after the merchant's receiver is
 * fixed). In AWS, SQS's own redrive does this (`aws sqs start-message-move-task`, see the README).
 */
import { pathToFileURL } from 'node:url';

import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

import { dataDirOf } from './local-settings';
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
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...resend(message) }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
      moved += 1;
      options.log?.(`moved ${message.MessageId ?? '?'}`);
    }
  }
}

function resend(message: Message) {
  const group = message.Attributes?.MessageGroupId;
  if (group === undefined || message.MessageId === undefined) {
    throw new Error(`dead letter ${message.MessageId ?? '?'} has no message group: not from a FIFO queue`);
  }
  return {
    MessageBody: message.Body ?? '',
    ...(message.MessageAttributes !== undefined ? { MessageAttributes: message.MessageAttributes } : {}),
    MessageGroupId: group,
    MessageDeduplicationId: message.MessageId,
  };
}

// ---- The command ------------------------------------------------------------------------------

export class RedriveUsageError extends Error {}

export interface RedriveTarget {
  dlqUrl: string;
  queueUrl: string;
  sqs: SQSClient;
}

/** The webhook queues of the local stack running on DATA_DIR. */
export function redriveTarget(argv: string[], env: Record<string, string | undefined>): RedriveTarget {
  if (argv.length > 0) {
    throw new RedriveUsageError(
      'takes no arguments: it redrives the running npm start; in AWS use aws sqs start-message-move-task',
    );
  }
  const dataDir = dataDirOf(env);
  const running = readRunningStack(dataDir);
  if (running === undefined) {
    throw new RedriveUsageError(`no local stack is running on ${dataDir}: start it with npm start`);
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
