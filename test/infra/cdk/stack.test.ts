import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayStack } from '#infra/cdk/wechat-pay-stack';
import {
  PAYMENT_BUNDLING,
  type PaymentFunction,
  SECRET_READERS,
  SECRETS_EXTENSION_PORT,
} from '#infra/cdk/payment-function';
import { DEFAULT_NOTIFY_RESERVED_CONCURRENCY, NOTIFY_CONCURRENCY_PARAMETER } from '#infra/cdk/notify-endpoint';
import { EVENTS_ITERATOR_AGE_ALARM } from '#infra/cdk/alarms';
import { BILLS_FUNCTION_MEMORY_MB, BILLS_FUNCTION_TIMEOUT } from '#infra/cdk/bill-reconciler';
import { STREAM_FILTER_PATTERNS } from '#shared/adapters/stream-filter';
import { EVENT_RELAY_BATCH_SIZE, EVENTS_FUNCTION_TIMEOUT_SECONDS } from '#shared/config/event-relay';
import {
  BILL_DISCREPANCIES_ALARM,
  CUSTOM_METRIC_ALARMS,
  CUSTOM_METRIC_NAMES,
  METRIC_ABNORMAL_REFUNDS,
  METRIC_LATE_PAYMENTS,
  METRIC_NOTIFICATIONS_NOT_STORED,
  METRIC_PAID_AT_EXPIRY,
  METRIC_REJECTED_NOTIFICATIONS,
  METRIC_REJECTED_REFUND_NOTIFICATIONS,
  METRIC_UNVERIFIED_NOTIFICATIONS,
  METRICS_NAMESPACE,
  UNVERIFIED_NOTIFICATIONS_ALARM_THRESHOLD,
} from '#shared/config/metric-names';
import {
  APP_BACKEND_ROUTES,
  BILL_ROUTES,
  NOTIFY_REFUND_ROUTE,
  NOTIFY_ROUTE,
  NOTIFY_ROUTES,
  routeKey,
} from '#shared/app/routes';
import { RECONCILE_BATCH_SIZE, RECONCILE_MAX_RECEIVE_COUNT } from '#shared/config/reconcile-queue';
import {
  DEFAULT_RECONCILE_SCHEDULE,
  WECHAT_API_PRODUCTION_URL,
  WECHATPAY_PRODUCTION_URL,
} from '#shared/config/settings';
import type { CfnResource } from './template-helpers';
import {
  appWithProjectContext,
  removeAssemblies,
  asList,
  getAttArn,
  grantsOf,
  logicalId,
  resourcesOfType,
  statementsOfRole,
} from './template-helpers';

// One synthesis for the whole file: it bundles the handlers with esbuild, which takes seconds. No
// webhook URL is configured here, so no webhook delivery is deployed (webhook-delivery.test.ts).
type Deployed = 'orders' | 'notify' | 'reconcile' | 'sweep' | 'events' | 'bills';
let stack: WechatPayStack;
let template: Template;
let assemblyDir: string;
let ids: {
  table: string;
  queue: string;
  dlq: string;
  bus: string;
  eventsFailureQueue: string;
  functions: Record<Deployed, string>;
  roles: Record<Deployed, string>;
};

beforeAll(() => {
  const app = appWithProjectContext();
  stack = new WechatPayStack(app, 'WechatPayStack');
  template = Template.fromStack(stack);
  assemblyDir = app.synth().directory;
  const fns = {
    orders: stack.ordersFunction,
    notify: stack.notifyFunction,
    reconcile: stack.reconcileFunction,
    sweep: stack.sweepFunction,
    events: stack.eventRelay.eventsFunction,
    bills: stack.billReconciler.function,
  };
  const each = (pick: (fn: PaymentFunction) => string) =>
    Object.fromEntries(Object.entries(fns).map(([name, fn]) => [name, pick(fn)])) as Record<keyof typeof fns, string>;
  ids = {
    table: logicalId(stack.ordersTable.table),
    queue: logicalId(stack.reconcileQueue.queue),
    dlq: logicalId(stack.reconcileQueue.deadLetterQueue),
    bus: logicalId(stack.eventRelay.eventBus),
    eventsFailureQueue: logicalId(stack.eventRelay.failureQueue),
    functions: each((fn) => logicalId(fn)),
    roles: each((fn) => logicalId(fn.role!)),
  };
}, 120_000);

afterAll(removeAssemblies);

function functionProps(name: keyof typeof ids.functions): Record<string, unknown> {
  const resource = template.toJSON().Resources[ids.functions[name]] as CfnResource;
  return resource.Properties ?? {};
}

describe('app-backend API', () => {
  it('has exactly the routes of the shared route tables, every one with IAM authorization', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties?.RouteKey).sort()).toEqual(
      [...Object.values(APP_BACKEND_ROUTES), ...Object.values(BILL_ROUTES)].map(routeKey).sort(),
    );
    for (const route of routes) expect(route.Properties?.AuthorizationType).toBe('AWS_IAM');
  });

  it('serves the refund routes (they come from the same table)', () => {
    const keys = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties?.RouteKey,
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'POST /orders/{out_trade_no}/refunds',
        'GET /orders/{out_trade_no}/refunds',
        'GET /orders/{out_trade_no}/refunds/{out_refund_no}',
      ]),
    );
  });

  it('serves GET /events, the pull path for events, with IAM authorization like the rest', () => {
    const route = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).find(
      (r) => r.Properties?.RouteKey === 'GET /events',
    );
    expect(route?.Properties?.AuthorizationType).toBe('AWS_IAM');
  });

  it('serves mini program login and user-data decryption, with IAM authorization like the rest', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'));
    for (const key of ['POST /miniprogram/sessions', 'POST /miniprogram/decrypt']) {
      expect(routes.find((r) => r.Properties?.RouteKey === key)?.Properties?.AuthorizationType, key).toBe('AWS_IAM');
    }
  });

  it('sends every app-backend route to the orders Lambda and every bill route to the bills Lambda', () => {
    const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
    const functionOf = (route: CfnResource) => {
      // Target: integrations/<the integration's logical id>.
      const target = JSON.stringify(route.Properties?.Target);
      const id = Object.keys(integrations).find((key) => target.includes(`"Ref":"${key}"`));
      const uri = integrations[id ?? '']?.Properties?.IntegrationUri as { 'Fn::GetAtt': [string, string] };
      return uri['Fn::GetAtt'][0];
    };
    const billKeys = Object.values(BILL_ROUTES).map(routeKey);
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'));
    const targets = Object.fromEntries(routes.map((r) => [r.Properties?.RouteKey as string, functionOf(r)]));
    expect(Object.keys(targets)).toHaveLength(routes.length);
    for (const [key, fnId] of Object.entries(targets)) {
      expect(fnId, key).toBe(billKeys.includes(key) ? ids.functions.bills : ids.functions.orders);
    }
    expect(Object.keys(integrations)).toHaveLength(2);
  });

  it('throttles the default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });

  it('writes an access log line per request, with the request id and caller, to a group kept one month', () => {
    const stage = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Stage'))[0];
    const settings = stage?.Properties?.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const groupId = (settings.DestinationArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(resourcesOfType(template, 'AWS::Logs::LogGroup')[groupId]?.Properties?.RetentionInDays).toBe(30);
    const format = JSON.parse(settings.Format) as Record<string, string>;
    for (const variable of ['$context.requestId', '$context.routeKey', '$context.status', '$context.identity.caller']) {
      expect(Object.values(format)).toContain(variable);
    }
  });
});

describe('notify endpoint', () => {
  it('is a Function URL with auth NONE on the notify Lambda, and the only Function URL', () => {
    const urls = Object.values(resourcesOfType(template, 'AWS::Lambda::Url'));
    expect(urls).toHaveLength(1);
    expect(urls[0]?.Properties).toMatchObject({
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [ids.functions.notify, 'Arn'] },
    });
  });

  it("bounds notify's concurrency by a stack parameter with a default, 0 meaning no reservation", () => {
    template.hasParameter(NOTIFY_CONCURRENCY_PARAMETER, {
      Type: 'Number',
      Default: DEFAULT_NOTIFY_RESERVED_CONCURRENCY,
      MinValue: 0,
    });
    expect(DEFAULT_NOTIFY_RESERVED_CONCURRENCY).toBeGreaterThan(0);
    const reserved = functionProps('notify').ReservedConcurrentExecutions as { 'Fn::If': [string, unknown, unknown] };
    const [condition, whenZero, otherwise] = reserved['Fn::If'];
    expect(whenZero).toEqual({ Ref: 'AWS::NoValue' });
    expect(otherwise).toEqual({ Ref: NOTIFY_CONCURRENCY_PARAMETER });
    expect(template.toJSON().Conditions[condition]).toEqual({
      'Fn::Equals': [{ Ref: NOTIFY_CONCURRENCY_PARAMETER }, '0'],
    });
    // Only notify faces the internet unauthenticated; the others are not held back.
    for (const name of ['orders', 'reconcile', 'sweep', 'bills'] as const) {
      expect(functionProps(name).ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('hands the orders Lambda the notify URL with the notify path and no query string', () => {
    const env = (functionProps('orders').Environment as { Variables: Record<string, unknown> }).Variables;
    const urlId = logicalId(stack.notifyEndpoint.functionUrl);
    // The Function URL ends in '/'.
    const path = NOTIFY_ROUTE.path.slice(1);
    expect(env.NOTIFY_URL).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [urlId, 'FunctionUrl'] }, path]] });
  });

  it('serves refund notifications on the same Function URL, beside the payment path', () => {
    // A Function URL hands every path to its function; what must hold is that the refund route is a
    // sibling of the notify_url's path (the orders handler swaps the last segment) and is notify's.
    expect(NOTIFY_ROUTES).toContainEqual(NOTIFY_REFUND_ROUTE);
    expect(NOTIFY_REFUND_ROUTE).toEqual({ method: 'POST', path: '/notify/refund' });
    const parent = (path: string) => path.slice(0, path.lastIndexOf('/'));
    expect(parent(NOTIFY_REFUND_ROUTE.path)).toBe(parent(NOTIFY_ROUTE.path));
    // Neither is an API Gateway route: only the Function URL reaches them.
    const keys = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties?.RouteKey,
    );
    for (const route of NOTIFY_ROUTES) expect(keys).not.toContain(routeKey(route));
  });
});

describe('orders table', () => {
  it('is on demand with point-in-time recovery, TTL and the pk/sk keys', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('is retained when the stack is deleted or the table replaced, and cannot be deleted by hand', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
  });

  it('has the due-index the sweep queries, the events-index GET /events reads and the settled-index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'due-index',
          KeySchema: [
            { AttributeName: 'dueKey', KeyType: 'HASH' },
            { AttributeName: 'nextCheckAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          // GET /events answers from the index alone, so it projects every attribute.
          IndexName: 'events-index',
          KeySchema: [
            { AttributeName: 'eventsKey', KeyType: 'HASH' },
            { AttributeName: 'eventsSortKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          // A day's PAID orders and SUCCESS refunds, compared with WeChat's bill from the index alone.
          IndexName: 'settled-index',
          KeySchema: [{ AttributeName: 'settledKey', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['settledFen', 'settledId'] },
        },
      ],
    });
  });

  it('streams both images of every change (the events are derived from the status before and after)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });
});

describe('reconcile queue', () => {
  it('redrives to the dead-letter queue after the shared receive count', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
        maxReceiveCount: RECONCILE_MAX_RECEIVE_COUNT,
      },
    });
  });

  it('keeps dead letters 14 days', () => {
    const dlq = template.toJSON().Resources[ids.dlq] as CfnResource;
    expect(dlq.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('gives the consumer a visibility timeout of at least six times its Lambda timeout', () => {
    const queue = template.toJSON().Resources[ids.queue] as CfnResource;
    const timeout = functionProps('reconcile').Timeout as number;
    expect(queue.Properties?.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('encrypts both queues and refuses requests without TLS', () => {
    for (const id of [ids.queue, ids.dlq]) {
      expect((template.toJSON().Resources[id] as CfnResource).Properties?.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('feeds the reconcile Lambda in batches of the shared size with partial batch failures', () => {
    const mappings = Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).filter(
      (m) => JSON.stringify(m.Properties?.EventSourceArn) === getAttArn(ids.queue),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      BatchSize: RECONCILE_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [ids.queue, 'Arn'] },
      FunctionName: { Ref: ids.functions.reconcile },
    });
  });

  it('runs the sweep on a schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [ids.functions.sweep, 'Arn'] } })],
    });
  });
});

describe('event relay (table stream → events Lambda)', () => {
  const streamMappings = () =>
    Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).filter(
      (m) =>
        JSON.stringify(m.Properties?.EventSourceArn) === JSON.stringify({ 'Fn::GetAtt': [ids.table, 'StreamArn'] }),
    );

  it('reads the stream with one mapping to the events Lambda, in order, from the oldest record kept', () => {
    expect(streamMappings()).toHaveLength(1);
    expect(streamMappings()[0]?.Properties).toMatchObject({
      FunctionName: { Ref: ids.functions.events },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: EVENT_RELAY_BATCH_SIZE,
      // Splitting a failed batch or reading a shard with several invocations would break the order.
      BisectBatchOnFunctionError: false,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(EVENT_RELAY_BATCH_SIZE).toBe(100);
  });

  it('retries a failing record until it leaves the stream, then reports the batch to an alarmed queue', () => {
    const props = streamMappings()[0]?.Properties ?? {};
    expect(props.MaximumRetryAttempts).toBe(-1);
    // No age limit either: a record is given up on only when the stream drops it (24 hours).
    expect(props.MaximumRecordAgeInSeconds).toBeUndefined();
    expect(props.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': [ids.eventsFailureQueue, 'Arn'] } },
    });
    const queue = template.toJSON().Resources[ids.eventsFailureQueue] as CfnResource;
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.eventsFailureQueue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('hands over exactly the records the shared stream filter admits (the local stack applies the same)', () => {
    // What each pattern admits is tested once, against the stored items' shapes (stream-filter.test.ts).
    const filters = (streamMappings()[0]?.Properties?.FilterCriteria as { Filters: Array<{ Pattern: string }> })
      .Filters;
    expect(filters.map((f) => JSON.parse(f.Pattern) as unknown)).toEqual(
      JSON.parse(JSON.stringify(STREAM_FILTER_PATTERNS)) as unknown,
    );
  });

  it('gives the events Lambda the timeout the local stack enforces too', () => {
    expect(functionProps('events').Timeout).toBe(EVENTS_FUNCTION_TIMEOUT_SECONDS);
  });

  it('lets the events Lambda put event items only, never an order or a refund', () => {
    const puts = statementsOfRole(template, ids.roles.events).filter((statement) =>
      asList(statement.Action).includes('dynamodb:PutItem'),
    );
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      Action: 'dynamodb:PutItem',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVENT#*'] } },
    });
  });

  it('puts events on a custom bus named after the stack', () => {
    const bus = template.toJSON().Resources[ids.bus] as CfnResource;
    expect(bus.Type).toBe('AWS::Events::EventBus');
    expect(bus.Properties?.Name).toBe('WechatPayStack-events');
  });

  it('gives the events Lambda the table and the bus, and no webhook queue when no webhook URL is set', () => {
    const env = (functionProps('events').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).sort()).toEqual(
      ['EVENT_BUS_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'TABLE_NAME'].sort(),
    );
    expect(env).toMatchObject({
      TABLE_NAME: { Ref: ids.table },
      EVENT_BUS_NAME: { Ref: ids.bus },
      POWERTOOLS_SERVICE_NAME: 'events',
    });
    expect(Object.keys(resourcesOfType(template, 'AWS::SQS::Queue'))).toHaveLength(3);
  });
});

describe('Lambdas', () => {
  it('are exactly ours (no webhooks Lambda without a webhook URL), on nodejs24.x and arm64, bounded', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(Object.keys(functions).sort()).toEqual(Object.values(ids.functions).sort());
    for (const [id, fn] of Object.entries(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
      // The bill reconciliation alone streams a whole day's bill: Lambda's longest run, one full vCPU.
      if (id === ids.functions.bills) {
        expect(fn.Properties).toMatchObject({
          Timeout: BILLS_FUNCTION_TIMEOUT.toSeconds(),
          MemorySize: BILLS_FUNCTION_MEMORY_MB,
        });
        continue;
      }
      expect(fn.Properties?.MemorySize as number).toBeGreaterThanOrEqual(256);
      expect(fn.Properties?.MemorySize as number).toBeLessThanOrEqual(512);
      expect(fn.Properties?.Timeout as number).toBeLessThanOrEqual(30);
    }
  });

  it('are bundled for the Node major they run on', () => {
    const majors = Object.keys(ids.functions).map(
      (name) => /^nodejs(\d+)\.x$/.exec(String(functionProps(name as keyof typeof ids.functions).Runtime))?.[1],
    );
    expect(new Set(majors)).toEqual(new Set([PAYMENT_BUNDLING.target.replace(/^node/, '')]));
  });

  it('log to a group of their own kept one month', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    for (const name of Object.keys(ids.functions) as Array<keyof typeof ids.functions>) {
      const ref = (functionProps(name).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(groups[ref]?.Properties?.RetentionInDays).toBe(30);
    }
  });

  it('are bundled locally as minified ESM with a source map', () => {
    for (const name of Object.keys(ids.functions) as Array<keyof typeof ids.functions>) {
      const key = (functionProps(name).Code as { S3Key: string }).S3Key;
      const dir = join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      const shim = "import { createRequire as __createRequire } from 'node:module';";
      expect(code.slice(0, shim.length)).toBe(shim);
      expect(code.slice(-60)).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
      // Minified: esbuild then prints statements end to end, so lines are long (unminified: ~40 chars).
      const lines = code.split('\n').length;
      expect(code.length / lines).toBeGreaterThan(400);
    }
  });
});

describe('least privilege', () => {
  const tableArn = () => getAttArn(ids.table);
  const indexArn = (name = 'due-index') =>
    JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.table, 'Arn'] }, `/index/${name}`]] });
  const streamArn = () => JSON.stringify({ 'Fn::GetAtt': [ids.table, 'StreamArn'] });
  const queueArn = () => getAttArn(ids.queue);
  const secretArn = JSON.stringify({ Ref: 'MerchantSecretArn' });
  const itemActions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
  const secretRead = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
  const consume = [
    'sqs:ChangeMessageVisibility',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:GetQueueUrl',
    'sqs:ReceiveMessage',
  ];

  // Each Lambda writes to its own log group only (the group is the stack's, so no logs:CreateLogGroup).
  const ownLogs = (name: keyof typeof ids.functions): Record<string, string[]> => {
    const group = (functionProps(name).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    return { 'logs:CreateLogStream': [getAttArn(group)], 'logs:PutLogEvents': [getAttArn(group)] };
  };
  const expected = (): Record<keyof typeof ids.roles, Record<string, string[]>> => ({
    orders: {
      ...ownLogs('orders'),
      // Creates orders and refunds (a refund's Put and its order's Update in one transaction).
      ...Object.fromEntries(itemActions.map((a) => [a, [tableArn()]])),
      // Lists an order's refunds (a Query of its partition, on the table) and the events (GET /events,
      // on the events-index only; never the due-index).
      'dynamodb:Query': [tableArn(), indexArn('events-index')].sort(),
      'sqs:SendMessage': [queueArn()],
      ...Object.fromEntries(secretRead.map((a) => [a, [secretArn]])),
    },
    notify: {
      ...ownLogs('notify'),
      ...Object.fromEntries(itemActions.map((a) => [a, [tableArn()]])),
      ...Object.fromEntries(secretRead.map((a) => [a, [secretArn]])),
    },
    reconcile: {
      ...ownLogs('reconcile'),
      // Reads and transitions orders and refunds (a refund's transition is two Updates in one
      // transaction: the refund and its order's counters); never creates an item.
      ...Object.fromEntries(['dynamodb:GetItem', 'dynamodb:UpdateItem'].map((a) => [a, [tableArn()]])),
      ...Object.fromEntries([...consume, 'sqs:SendMessage'].map((a) => [a, [queueArn()]])),
      ...Object.fromEntries(secretRead.map((a) => [a, [secretArn]])),
    },
    sweep: {
      ...ownLogs('sweep'),
      'dynamodb:Query': [indexArn()],
      // Reads the order and moves its next check before re-enqueuing it.
      'dynamodb:GetItem': [tableArn()],
      'dynamodb:UpdateItem': [tableArn()],
      'sqs:SendMessage': [queueArn()],
    },
    events: {
      ...ownLogs('events'),
      // The stream, as the event source mapping reads it: no ListStreams on "*".
      ...Object.fromEntries(
        ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'].map(
          (a) => [a, [streamArn()]],
        ),
      ),
      // The event log: one conditional put per event, and nothing else on the table.
      'dynamodb:PutItem': [tableArn()],
      'events:PutEvents': [getAttArn(ids.bus)],
      // The batches Lambda gives up on, described to the failure queue (what SqsDlq grants).
      ...Object.fromEntries(
        ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].map((a) => [
          a,
          [getAttArn(ids.eventsFailureQueue)],
        ]),
      ),
    },
    bills: {
      ...ownLogs('bills'),
      // Reads orders, refunds and stored reports; stores the report (a Put, as is a verified report
      // naming no order of ours); applies WeChat's word (Updates, a refund's two in one transaction).
      ...Object.fromEntries(itemActions.map((a) => [a, [tableArn()]])),
      // A day's PAID orders and SUCCESS refunds, from the settled-index only (never the table: no scan).
      'dynamodb:Query': [indexArn('settled-index')],
      // The bill's download and the queries that confirm a repair are WeChat calls; it schedules no
      // check, so no queue.
      ...Object.fromEntries(secretRead.map((a) => [a, [secretArn]])),
    },
  });

  for (const name of ['orders', 'notify', 'reconcile', 'sweep', 'events', 'bills'] as const) {
    it(`grants the ${name} Lambda exactly the actions it uses, on exactly its resources`, () => {
      const grants = grantsOf(statementsOfRole(template, ids.roles[name]));
      const actual = Object.fromEntries([...grants].map(([action, resources]) => [action, [...resources].sort()]));
      expect(actual).toEqual(expected()[name]);
    });
  }

  it('covers every kind of transaction entry the adapters write, so no transaction is refused in AWS', () => {
    // DynamoDB Local checks no IAM: a ConditionCheck added to a transaction without
    // dynamodb:ConditionCheckItem granted would pass every local test and fail in AWS.
    const adapters = new URL('../../../shared/adapters/', import.meta.url);
    const kinds = new Set<string>();
    for (const file of readdirSync(adapters).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, adapters), 'utf8');
      if (!source.includes('TransactWriteCommand')) continue;
      for (const match of source.matchAll(/\b(Put|Update|Delete|ConditionCheck):\s*\{/g)) kinds.add(match[1] ?? '');
    }
    const actionOf: Record<string, string> = {
      Put: 'dynamodb:PutItem',
      Update: 'dynamodb:UpdateItem',
      Delete: 'dynamodb:DeleteItem',
      ConditionCheck: 'dynamodb:ConditionCheckItem',
    };
    const has = (name: keyof typeof ids.roles) => grantsOf(statementsOfRole(template, ids.roles[name]));
    // Only the orders API creates (a refund's Put beside its order's Update); the transitions any of
    // the four may write use every other kind.
    for (const kind of kinds) {
      const writers = kind === 'Put' ? (['orders'] as const) : (['orders', 'notify', 'reconcile', 'bills'] as const);
      for (const name of writers)
        expect(has(name).get(actionOf[kind] ?? kind), `${name}: ${kind}`).toEqual(new Set([tableArn()]));
    }
  });

  it('has no wildcard action or resource in any inline policy', () => {
    for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
      for (const statement of (
        policy.Properties?.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> }
      ).Statement) {
        for (const action of asList(statement.Action as string | string[])) expect(action).not.toMatch(/\*/);
        for (const resource of asList(statement.Resource)) expect(resource).not.toBe('*');
      }
    }
  });

  it('gives notify and bills no queue access, and neither the sweep nor the events Lambda the credentials', () => {
    const actions = (name: keyof typeof ids.roles) => [...grantsOf(statementsOfRole(template, ids.roles[name])).keys()];
    expect(actions('notify').filter((a) => a.startsWith('sqs:'))).toEqual([]);
    expect(actions('bills').filter((a) => a.startsWith('sqs:'))).toEqual([]);
    for (const name of ['sweep', 'events'] as const) {
      expect(actions(name).filter((a) => a.startsWith('secretsmanager:') || a.startsWith('kms:'))).toEqual([]);
    }
    for (const name of Object.keys(ids.roles) as Array<keyof typeof ids.roles>) {
      expect(actions(name)).not.toContain('dynamodb:Scan');
      expect(actions(name)).not.toContain('dynamodb:DeleteItem');
    }
  });

  it('attaches no managed policy (AWSLambdaBasicExecutionRole would allow writing to any log group)', () => {
    for (const roleId of Object.values(ids.roles)) {
      const role = template.toJSON().Resources[roleId] as CfnResource;
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('merchant credentials', () => {
  const common = [
    'TABLE_NAME',
    'WECHATPAY_SECRET_ID',
    'WECHATPAY_BASE_URL',
    'RECONCILE_SCHEDULE',
    'POWERTOOLS_SERVICE_NAME',
    'POWERTOOLS_METRICS_NAMESPACE',
  ];
  // The Parameters and Secrets extension's configuration, on the functions that read the secret.
  const extension = [
    'PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED',
    'PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE',
    'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
    'PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL',
    'PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS',
    'SECRETS_MANAGER_TIMEOUT_MILLIS',
    'SECRETS_MANAGER_TTL',
    'SSM_PARAMETER_STORE_TIMEOUT_MILLIS',
    'SSM_PARAMETER_STORE_TTL',
  ];
  const allowedKeys: Record<Exclude<Deployed, 'events'>, string[]> = {
    // WeChat's own API host, for mini program login: only the orders API calls it.
    orders: [...common, ...extension, 'QUEUE_URL', 'NOTIFY_URL', 'WECHAT_API_BASE_URL'],
    notify: [...common, ...extension],
    reconcile: [...common, ...extension, 'QUEUE_URL', 'NOTIFY_URL'],
    sweep: [...common, 'QUEUE_URL'],
    // Its repairs are applied, never scheduled: no queue, and it sends WeChat no notify_url.
    bills: [...common, ...extension],
  };

  it('are read through the secrets extension, uncached, by exactly the functions granted the read', () => {
    for (const name of Object.keys(ids.functions) as Deployed[]) {
      const props = functionProps(name);
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      const grants = grantsOf(statementsOfRole(template, ids.roles[name]));
      const reads = grants.has('secretsmanager:GetSecretValue');
      expect(SECRET_READERS.has(name), name).toBe(reads);
      expect(props.Layers === undefined, name).toBe(!reads);
      if (!reads) continue;
      expect(JSON.stringify(props.Layers)).toContain('Paramsandsecretslayer');
      // A reload after a rotation must reach Secrets Manager, not the extension's copy.
      expect(env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED).toBe('false');
      expect(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).toBe(String(SECRETS_EXTENSION_PORT));
    }
  });

  it('come from a stack parameter that must be a secret ARN and has no default', () => {
    template.hasParameter('MerchantSecretArn', {
      Type: 'String',
      AllowedPattern: Match.stringLikeRegexp('secretsmanager'),
      Default: Match.absent(),
    });
  });

  it('reach each Lambda only as the secret id; the environment holds exactly the expected variables', () => {
    for (const name of Object.keys(allowedKeys) as Array<keyof typeof allowedKeys>) {
      const env = (functionProps(name).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(env).sort()).toEqual([...allowedKeys[name]].sort());
      expect(env.WECHATPAY_SECRET_ID).toEqual({ Ref: 'MerchantSecretArn' });
      expect(env).toMatchObject({
        WECHATPAY_BASE_URL: WECHATPAY_PRODUCTION_URL,
        RECONCILE_SCHEDULE: DEFAULT_RECONCILE_SCHEDULE,
        POWERTOOLS_SERVICE_NAME: name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        TABLE_NAME: { Ref: ids.table },
      });
      if (allowedKeys[name].includes('QUEUE_URL')) expect(env.QUEUE_URL).toEqual({ Ref: ids.queue });
    }
    const orders = (functionProps('orders').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(orders.WECHAT_API_BASE_URL).toBe(WECHAT_API_PRODUCTION_URL);
  });

  it('are nowhere in the template: no secret resource, no credential field, no key material', () => {
    expect(Object.keys(resourcesOfType(template, 'AWS::SecretsManager::Secret'))).toEqual([]);
    const text = JSON.stringify(template.toJSON());
    for (const marker of [
      'apiKey',
      'apiV3Key',
      'privateKey',
      'PRIVATE KEY',
      'SecretString',
      'GenerateSecretString',
      'WECHATPAY_API_KEY',
    ]) {
      expect(text).not.toContain(marker);
    }
    // The mini program's AppSecret is the merchant secret's appSecret field, never a variable
    // (WECHAT_APPSECRET is the local stack's) nor any other part of the template.
    expect(text.toLowerCase()).not.toContain('appsecret');
    // A 32-character key (APIv2 / APIv3) would look like this; asset hashes are 64 hex characters.
    const strings = [...text.matchAll(/"([^"\\]*)"/g)].map((m) => m[1] ?? '');
    expect(strings.filter((s) => /^[A-Za-z0-9]{32}$/.test(s))).toEqual([]);
  });
});

describe('alarms', () => {
  const alarms = () =>
    Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties ?? {});
  const atFirstOccurrence = { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 };

  it('fire when the dead-letter queue holds a message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...atFirstOccurrence,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } }],
    });
  });

  it('fire on any error of any of our Lambdas', () => {
    for (const fnId of Object.values(ids.functions)) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...atFirstOccurrence,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      });
    }
  });

  it('watch exactly the custom metrics the handlers emit (metric-names.ts), in their namespace', () => {
    const watched = alarms().flatMap((a) => [
      ...(
        (a.Metrics as Array<{ MetricStat?: { Metric: { Namespace: string; MetricName: string } } }> | undefined) ?? []
      )
        .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))
        .filter((m) => !m.Namespace.startsWith('AWS/')),
      // An alarm on one series names it directly (the bill discrepancies: the bills function's own).
      ...(typeof a.Namespace === 'string' && !a.Namespace.startsWith('AWS/')
        ? [{ Namespace: a.Namespace, MetricName: a.MetricName as string }]
        : []),
    ]);
    expect(new Set(watched.map((m) => m.Namespace))).toEqual(new Set([METRICS_NAMESPACE]));
    expect([...new Set(watched.map((m) => m.MetricName))].sort()).toEqual(
      [...CUSTOM_METRIC_NAMES, BILL_DISCREPANCIES_ALARM.metricName].sort(),
    );
  });

  for (const { metricName, threshold } of CUSTOM_METRIC_ALARMS) {
    it(`fire on the custom metric ${metricName} at ${threshold} in 5 minutes, whichever handler emits it`, () => {
      const alarm = alarms().find((a) =>
        (a.Metrics as Array<{ Label?: string }> | undefined)?.some((m) => m.Label === metricName),
      );
      expect(alarm).toMatchObject({ ...atFirstOccurrence, Threshold: threshold });
      const stats = (
        alarm?.Metrics as Array<{
          MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown } };
        }>
      ).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []));
      expect(stats.map((m) => [m.Namespace, m.MetricName])).toEqual(
        Array(Object.keys(ids.functions).length).fill([METRICS_NAMESPACE, metricName]),
      );
      expect(stats.map((m) => m.Dimensions)).toContainEqual([{ Name: 'service', Value: 'notify' }]);
      expect(stats.map((m) => m.Dimensions)).toContainEqual([{ Name: 'service', Value: 'reconcile' }]);
    });
  }

  it('fire at the first verified-but-refused WeChat report, late payment or unstored notification', () => {
    const thresholds = Object.fromEntries(CUSTOM_METRIC_ALARMS.map((a) => [a.metricName, a.threshold]));
    for (const metricName of [
      METRIC_REJECTED_NOTIFICATIONS,
      METRIC_LATE_PAYMENTS,
      METRIC_NOTIFICATIONS_NOT_STORED,
      METRIC_PAID_AT_EXPIRY,
      METRIC_ABNORMAL_REFUNDS,
      METRIC_REJECTED_REFUND_NOTIFICATIONS,
    ]) {
      expect(thresholds[metricName]).toBe(1);
    }
  });

  it('alarm on unverified notifications, which anyone can send, at a rate, under their own metric', () => {
    const unverified = CUSTOM_METRIC_ALARMS.find((a) => a.metricName === METRIC_UNVERIFIED_NOTIFICATIONS);
    expect(unverified?.threshold).toBe(UNVERIFIED_NOTIFICATIONS_ALARM_THRESHOLD);
    expect(UNVERIFIED_NOTIFICATIONS_ALARM_THRESHOLD).toBeGreaterThan(1);
    expect(METRIC_UNVERIFIED_NOTIFICATIONS).not.toBe(METRIC_REJECTED_NOTIFICATIONS);
    // The stable logical ids: each custom-metric alarm is named after its metric.
    for (const { metricName } of CUSTOM_METRIC_ALARMS) {
      const alarm = stack.alarms.customMetricAlarms[metricName];
      expect(alarm && logicalId(alarm)).toMatch(new RegExp(`^Alarms${metricName}`));
    }
  });

  it('fire at the first ABNORMAL refund and the first refused refund report', () => {
    expect(METRIC_ABNORMAL_REFUNDS).toBe('AbnormalRefunds');
    expect(METRIC_REJECTED_REFUND_NOTIFICATIONS).toBe('RejectedRefundNotifications');
    for (const metricName of [METRIC_ABNORMAL_REFUNDS, METRIC_REJECTED_REFUND_NOTIFICATIONS]) {
      const alarm = stack.alarms.customMetricAlarms[metricName];
      expect(alarm).toBeDefined();
      const properties = resourcesOfType(template, 'AWS::CloudWatch::Alarm')[logicalId(alarm!)]?.Properties;
      expect(properties).toMatchObject(atFirstOccurrence);
      expect(properties?.Metrics).toContainEqual(expect.objectContaining({ Label: metricName }));
    }
  });

  it('fire when the events Lambda falls 10 minutes behind the stream (a change keeps failing)', () => {
    expect(EVENTS_ITERATOR_AGE_ALARM.toMinutes()).toBe(10);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 600_000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.functions.events } }],
    });
  });

  it('fire when Lambda gave up on a batch of stream records', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...atFirstOccurrence,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.eventsFailureQueue, 'QueueName'] } }],
    });
  });

  it('all notify the alarm topic', () => {
    const topicId = logicalId(stack.alarms.topic);
    // Reconcile DLQ, one per Lambda, the custom metrics, the stream's lag and its failure queue, and
    // the bill discrepancies (bill-reconciler.test.ts).
    expect(alarms()).toHaveLength(1 + Object.keys(ids.functions).length + CUSTOM_METRIC_NAMES.length + 2 + 1);
    for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});

describe('outputs', () => {
  it('give the API URL, notify URL, table and queue names', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'NotifyUrl', 'TableName', 'QueueName', 'DlqName', 'EventBusName']),
    );
    expect(outputs.EventBusName?.Value).toEqual({ Ref: ids.bus });
    expect(Object.keys(outputs).filter((key) => key.startsWith('Webhook'))).toEqual([]);
    expect(outputs.TableName?.Value).toEqual({ Ref: ids.table });
    expect(outputs.QueueName?.Value).toEqual({ 'Fn::GetAtt': [ids.queue, 'QueueName'] });
    expect(outputs.DlqName?.Value).toEqual({ 'Fn::GetAtt': [ids.dlq, 'QueueName'] });
    expect(outputs.NotifyUrl?.Value).toEqual(
      (functionProps('orders').Environment as { Variables: Record<string, unknown> }).Variables.NOTIFY_URL,
    );
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain('.execute-api.');
  });
});
