import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';

import { SQS_MAX_VISIBILITY_SECONDS } from '../config/webhook-queue';

/**
 * Makes a received message visible again after `seconds` (0: at once), so a failed webhook delivery
 * is retried on its own schedule rather than the queue's visibility timeout. SQS counts the receives,
 * and its redrive policy dead-letters the message after the last one.
 */
export async function retryMessageAfter(
  sqs: SQSClient,
  queueUrl: string,
  receiptHandle: string,
  seconds: number,
): Promise<void> {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > SQS_MAX_VISIBILITY_SECONDS) {
    throw new RangeError(
      `a message's visibility can be 0 to ${SQS_MAX_VISIBILITY_SECONDS} whole seconds, not ${seconds}`,
    );
  }
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: seconds,
    }),
  );
}
