import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayStack } from '#infra/cdk/wechat-pay-stack';
import {
  DEFAULT_WEBHOOK_RETRY_SCHEDULE,
  WEBHOOK_BATCH_SIZE,
  WEBHOOK_QUEUE_VISIBILITY_SECONDS,
  WEBHOOKS_FUNCTION_TIMEOUT_SECONDS,
  webhookMaxReceiveCount,
} from '#shared/config/webhook-queue';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '#shared/webhooks/deliver';
import type { CfnResource } from './template-helpers';
import {
  appWithProjectContext,
  asList,
  getAttArn,
  grantsOf,
  logicalId,
  removeAssemblies,
  resourcesOfType,
  statementsOfRole,
} from './template-helpers';

// The stack with a webhook receiver configured. Bundling is off (stack.test.ts covers it).
const RECEIVER = 'https://merchant.example.com/wechatpay/webhooks';
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

let stack: WechatPayStack;
let template: Template;
let ids: {
  queue: string;
  dlq: string;
  secret: string;
  webhooks: string;
  webhooksRole: string;
  events: string;
  eventsRole: string;
};

beforeAll(() => {
  stack = new WechatPayStack(appWithProjectContext({ ...NO_BUNDLING, merchantWebhookUrl: RECEIVER }), 'WechatPayStack');
  template = Template.fromStack(stack);
  const delivery = stack.webhookDelivery!;
  ids = {
    queue: logicalId(delivery.queue),
    dlq: logicalId(delivery.deadLetterQueue),
    secret: logicalId(delivery.secret),
    webhooks: logicalId(delivery.webhooksFunction),
    webhooksRole: logicalId(delivery.webhooksFunction.role!),
    events: logicalId(stack.eventRelay.eventsFunction),
    eventsRole: logicalId(stack.eventRelay.eventsFunction.role!),
  };
}, 60_000);

afterAll(removeAssemblies);

const resource = (id: string) => template.toJSON().Resources[id] as CfnResource;
const outputs = (of: Template) => of.toJSON().Outputs as Record<string, { Value: unknown; Description?: string }>;
const webhookMappings = (of: Template, queueId: string) =>
  Object.values(resourcesOfType(of, 'AWS::Lambda::EventSourceMapping')).filter(
    (m) => JSON.stringify(m.Properties?.EventSourceArn) === getAttArn(queueId),
  );
const environment = (id: string) =>
  (resource(id).Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
const grants = (roleId: string) =>
  Object.fromEntries(
    [...grantsOf(statementsOfRole(template, roleId))].map(([action, resources]) => [action, [...resources].sort()]),
  );

describe('webhook queue', () => {
  it('is FIFO, deduplicated by the id the relay gives (not by content), kept 14 days and encrypted', () => {
    expect(resource(ids.queue).Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
  });

  it('dead-letters to a FIFO queue after the first attempt and one per wait of the default schedule', () => {
    const schedule = DEFAULT_WEBHOOK_RETRY_SCHEDULE.split(',').map(Number);
    expect(resource(ids.queue).Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
      maxReceiveCount: webhookMaxReceiveCount(schedule),
    });
    expect(webhookMaxReceiveCount(schedule)).toBe(8);
    expect(resource(ids.dlq).Properties).toMatchObject({
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
  });

  it('refuses requests without TLS on both queues', () => {
    for (const id of [ids.queue, ids.dlq]) {
      const policy = Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')).find(
        (p) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: id }]),
      );
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> })
        .Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('hides a message longer than the webhooks Lambda may run, so no attempt is handed out twice', () => {
    const timeout = resource(ids.webhooks).Properties?.Timeout as number;
    // Every message of a batch may take the whole attempt timeout, one after the other.
    expect(timeout).toBeGreaterThan((WEBHOOK_BATCH_SIZE * DEFAULT_WEBHOOK_TIMEOUT_MS) / 1000);
    expect(timeout).toBeLessThanOrEqual(90);
    expect(resource(ids.queue).Properties?.VisibilityTimeout as number).toBeGreaterThanOrEqual(timeout);
    // The values the local stack applies too.
    expect(timeout).toBe(WEBHOOKS_FUNCTION_TIMEOUT_SECONDS);
    expect(resource(ids.queue).Properties?.VisibilityTimeout).toBe(WEBHOOK_QUEUE_VISIBILITY_SECONDS);
  });

  it('feeds the webhooks Lambda in FIFO batches with partial batch failures', () => {
    const mappings = webhookMappings(template, ids.queue);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      FunctionName: { Ref: ids.webhooks },
      BatchSize: WEBHOOK_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('is not consumed until delivery is turned on: events wait in the queue while the secret is a placeholder', () => {
    // Consumed with the placeholder secret, every attempt would fail and count as a receive: every
    // event would be dead-lettered within minutes of being queued.
    expect(webhookMappings(template, ids.queue)[0]?.Properties?.Enabled).toBe(false);
    const description = outputs(template).WebhookSecretCommand?.Description ?? '';
    expect(description).toMatch(/delivery is OFF/);
    expect(description).toContain('-c webhooksEnabled=true');
    expect(description).toContain('14 days');
  });

  it.each([['true'], [true]])('is consumed once deployed with webhooksEnabled=%j', (enabled) => {
    const on = new WechatPayStack(
      appWithProjectContext({ ...NO_BUNDLING, merchantWebhookUrl: RECEIVER, webhooksEnabled: enabled }),
      'Enabled',
    );
    const onTemplate = Template.fromStack(on);
    const mappings = webhookMappings(onTemplate, logicalId(on.webhookDelivery!.queue));
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties?.Enabled).toBe(true);
    const description = outputs(onTemplate).WebhookSecretCommand?.Description ?? '';
    expect(description).not.toMatch(/OFF/);
    expect(description).toMatch(/rotate/);
  });
});

describe('webhook secret', () => {
  it('is created with a placeholder that is not a whsec_ secret, so delivery turned on too early fails loudly', () => {
    const generate = resource(ids.secret).Properties?.GenerateSecretString as Record<string, unknown>;
    // Letters and digits only: a generated value can never begin with "whsec_".
    expect(generate).toMatchObject({ ExcludePunctuation: true, IncludeSpace: false });
    expect(generate.SecretStringTemplate).toBeUndefined();
    expect(resource(ids.secret).Properties?.SecretString).toBeUndefined();
  });

  it('is readable by the webhooks Lambda alone', () => {
    const readers: string[] = [];
    const secretRef = JSON.stringify({ Ref: ids.secret });
    for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
      const statements = (policy.Properties?.PolicyDocument as { Statement: Array<{ Resource: unknown }> }).Statement;
      if (statements.some((s) => asList(s.Resource).some((r) => JSON.stringify(r) === secretRef)))
        readers.push(...asList(policy.Properties?.Roles as unknown[]).map((r) => JSON.stringify(r)));
    }
    expect(readers).toEqual([JSON.stringify({ Ref: ids.webhooksRole })]);
  });

  it('is named to the Lambda by its ARN, and the output gives the command that sets it', () => {
    expect(environment(ids.webhooks).MERCHANT_WEBHOOK_SECRET_ID).toEqual({ Ref: ids.secret });
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown; Description?: string }>;
    expect(outputs.WebhookSecretArn?.Value).toEqual({ Ref: ids.secret });
    const command = JSON.stringify(outputs.WebhookSecretCommand?.Value);
    expect(command).toContain('aws secretsmanager put-secret-value --secret-id ');
    expect(command).toContain(JSON.stringify({ Ref: ids.secret }));
    expect(outputs.WebhookSecretCommand?.Description).toContain('whsec_');
  });

  it('outputs the dead-letter queue ARN that SQS redrive (start-message-move-task) takes', () => {
    expect(outputs(template).WebhookDlqArn?.Value).toEqual({ 'Fn::GetAtt': [ids.dlq, 'Arn'] });
  });
});

describe('webhooks Lambda', () => {
  it('gets the receiver, the secret id, the schedule and its queue; no WeChat credentials', () => {
    const env = environment(ids.webhooks);
    expect(env).toMatchObject({
      MERCHANT_WEBHOOK_URL: RECEIVER,
      WEBHOOK_RETRY_SCHEDULE: DEFAULT_WEBHOOK_RETRY_SCHEDULE,
      WEBHOOK_QUEUE_URL: { Ref: ids.queue },
      POWERTOOLS_SERVICE_NAME: 'webhooks',
    });
    expect(env).not.toHaveProperty('WECHATPAY_SECRET_ID');
  });

  it('may only consume its queue, change its messages’ visibility, read its secret and write its logs', () => {
    const queueArn = [getAttArn(ids.queue)];
    const logs = (resource(ids.webhooks).Properties?.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(grants(ids.webhooksRole)).toEqual({
      'logs:CreateLogStream': [getAttArn(logs)],
      'logs:PutLogEvents': [getAttArn(logs)],
      'secretsmanager:DescribeSecret': [JSON.stringify({ Ref: ids.secret })],
      'secretsmanager:GetSecretValue': [JSON.stringify({ Ref: ids.secret })],
      'sqs:ChangeMessageVisibility': queueArn,
      'sqs:DeleteMessage': queueArn,
      'sqs:GetQueueAttributes': queueArn,
      'sqs:GetQueueUrl': queueArn,
      'sqs:ReceiveMessage': queueArn,
    });
  });

  it('has an error alarm, and the dead-letter queue fires at its first message', () => {
    const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties ?? {});
    const atFirst = { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 };
    expect(alarms).toContainEqual(
      expect.objectContaining({
        ...atFirst,
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.webhooks } }],
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        ...atFirst,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } }],
      }),
    );
  });
});

describe('events Lambda with webhooks', () => {
  it('is told the queue and may only send to it (no receive, no access to the dead letters)', () => {
    expect(environment(ids.events).WEBHOOK_QUEUE_URL).toEqual({ Ref: ids.queue });
    const on = (arn: string) =>
      Object.entries(grants(ids.eventsRole))
        .filter(([, resources]) => resources.includes(arn))
        .map(([action]) => action);
    expect(on(getAttArn(ids.queue))).toEqual(['sqs:SendMessage']);
    expect(on(getAttArn(ids.dlq))).toEqual([]);
  });
});

describe('webhook settings at synth', () => {
  it('size the redrive from the configured schedule and hand the same schedule to the Lambda', () => {
    const custom = new WechatPayStack(
      appWithProjectContext({ ...NO_BUNDLING, merchantWebhookUrl: RECEIVER, webhookRetrySchedule: '10, 60,600' }),
      'Custom',
    );
    const customTemplate = Template.fromStack(custom);
    const delivery = custom.webhookDelivery!;
    const queue = customTemplate.toJSON().Resources[logicalId(delivery.queue)] as CfnResource;
    expect((queue.Properties?.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount).toBe(4);
    const fn = customTemplate.toJSON().Resources[logicalId(delivery.webhooksFunction)] as CfnResource;
    expect(
      (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.WEBHOOK_RETRY_SCHEDULE,
    ).toBe('10,60,600');
  });

  it.each([
    'http://merchant.example.com/hooks',
    'http://127.0.0.1:8080/hooks',
    'ftp://merchant.example.com/',
    'https://user:pw@merchant.example.com/hooks',
  ])('refuse a receiver the webhooks Lambda would refuse or that is not https (%s), naming the setting', (url) => {
    const app = appWithProjectContext({ ...NO_BUNDLING, merchantWebhookUrl: url });
    expect(() => new WechatPayStack(app, 'Refused')).toThrow(/CDK context "merchantWebhookUrl" must be an https:\/\//);
  });

  it('deploy no webhook delivery without a receiver', () => {
    const plain = new WechatPayStack(appWithProjectContext(NO_BUNDLING), 'Plain');
    expect(plain.webhookDelivery).toBeUndefined();
    const plainTemplate = Template.fromStack(plain);
    expect(Object.keys(resourcesOfType(plainTemplate, 'AWS::SecretsManager::Secret'))).toEqual([]);
    const fifo = Object.values(resourcesOfType(plainTemplate, 'AWS::SQS::Queue')).filter(
      (q) => q.Properties?.FifoQueue,
    );
    expect(fifo).toEqual([]);
  });
});
