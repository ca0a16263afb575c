import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The floor of a cold start: a Lambda that does nothing but build the clients every one of ours
 * needs. Bundled exactly like our handlers, it is what the platform costs before our code runs.
 */
const region = process.env.AWS_REGION;

export const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region }), {
  marshallOptions: { removeUndefinedValues: true },
});
export const sqs = new SQSClient({ region });

export const handler = async (): Promise<{ statusCode: number }> => ({ statusCode: 200 });
