import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILL_SCHEDULE, BILLS_FUNCTION_MEMORY_MB, BILLS_FUNCTION_TIMEOUT } from '#infra/cdk/bill-reconciler';
import { WechatPayStack } from '#infra/cdk/wechat-pay-stack';
import { BILLS_FUNCTION_LIMITS } from '#sandbox/local/gateway';
import { BILL_ROUTES, routeKey } from '#shared/app/routes';
import { BILL_DISCREPANCIES_ALARM, METRIC_BILL_DISCREPANCIES, METRICS_NAMESPACE } from '#shared/config/metric-names';
import type { CfnResource } from './template-helpers';
import { appWithProjectContext, logicalId, removeAssemblies, resourcesOfType } from './template-helpers';

// What is checked here is the template, not the bundles (stack.test.ts looks at those): no bundling.
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

let stack: WechatPayStack;
let template: Template;
let billsId: string;

beforeAll(() => {
  stack = new WechatPayStack(appWithProjectContext(NO_BUNDLING), 'WechatPayStack');
  template = Template.fromStack(stack);
  billsId = logicalId(stack.billReconciler.function);
}, 120_000);

afterAll(removeAssemblies);

const billsArn = () => ({ 'Fn::GetAtt': [billsId, 'Arn'] });

describe('the bills Lambda', () => {
  it("runs up to Lambda's 15 minutes with 1,769 MB (one full vCPU), under its own service name", () => {
    const fn = template.toJSON().Resources[billsId] as CfnResource;
    expect(fn.Properties).toMatchObject({
      Timeout: 900,
      MemorySize: 1769,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'bills', POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE } },
    });
    expect([BILLS_FUNCTION_TIMEOUT.toSeconds(), BILLS_FUNCTION_MEMORY_MB]).toEqual([900, 1769]);
  });

  it('is run locally with the same timeout and memory as in AWS', () => {
    expect(BILLS_FUNCTION_LIMITS).toEqual({
      timeoutMs: BILLS_FUNCTION_TIMEOUT.toMilliseconds(),
      memoryMb: BILLS_FUNCTION_MEMORY_MB,
    });
  });

  it('is not retried by Lambda after a failed scheduled run: the next hourly run is the retry', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: billsId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
    });
  });

  it('has an error alarm like every other Lambda', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 1,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: billsId } }],
    });
  });
});

describe('the daily schedule', () => {
  const billRules = () =>
    Object.entries(resourcesOfType(template, 'AWS::Events::Rule')).filter(([, rule]) =>
      JSON.stringify(rule.Properties?.Targets).includes(`"${billsId}"`),
    );

  it('is one rule, cron(30 2-4 * * ? *) in UTC, targeting the bills Lambda', () => {
    expect(billRules()).toHaveLength(1);
    const [ruleId, rule] = billRules()[0]!;
    expect(ruleId).toBe(logicalId(stack.billReconciler.rule));
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 2-4 * * ? *)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: billsArn(),
          // A delivery that fails is tried again, but not past the next hourly run.
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        },
      ],
    });
    // No Input: the handler gets EventBridge's scheduled event, whose time names the day before.
    expect((rule.Properties?.Targets as Array<Record<string, unknown>>)[0]?.Input).toBeUndefined();
  });

  it('fires at 10:30, 11:30 and 12:30 Beijing time, every day of the year (China keeps no DST)', () => {
    const hours = BILL_SCHEDULE.hour.split('-').map(Number);
    const utcHours = Array.from({ length: hours[1]! - hours[0]! + 1 }, (_, i) => hours[0]! + i);
    const beijing = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Shanghai',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    for (const month of [0, 6]) {
      const times = utcHours.map((h) =>
        beijing.format(new Date(Date.UTC(2026, month, 15, h, Number(BILL_SCHEDULE.minute)))),
      );
      expect(times).toEqual(['10:30', '11:30', '12:30']);
    }
  });

  it('may invoke the bills Lambda (and only that rule may, besides the API)', () => {
    const permissions = Object.values(resourcesOfType(template, 'AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties?.FunctionName) === JSON.stringify(billsArn()),
    );
    const fromEvents = permissions.filter((p) => p.Properties?.Principal === 'events.amazonaws.com');
    expect(fromEvents.map((p) => p.Properties?.SourceArn)).toEqual([
      { 'Fn::GetAtt': [logicalId(stack.billReconciler.rule), 'Arn'] },
    ]);
    const principals = new Set(permissions.map((p) => p.Properties?.Principal));
    expect(principals).toEqual(new Set(['events.amazonaws.com', 'apigateway.amazonaws.com']));
  });
});

describe('the reconciliation routes', () => {
  it('are the shared BILL_ROUTES, IAM-authorised, integrated with the bills Lambda', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'));
    const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
    const billsIntegrations = Object.entries(integrations).filter(
      ([, i]) => JSON.stringify(i.Properties?.IntegrationUri) === JSON.stringify(billsArn()),
    );
    expect(billsIntegrations).toHaveLength(1);
    const [integrationId, integration] = billsIntegrations[0]!;
    expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    const served = routes.filter((r) => JSON.stringify(r.Properties?.Target).includes(`"${integrationId}"`));
    expect(served.map((r) => r.Properties?.RouteKey).sort()).toEqual(
      ['GET /reconciliations/{bill_date}', 'POST /reconciliations'].sort(),
    );
    expect(Object.values(BILL_ROUTES).map(routeKey).sort()).toEqual(
      served.map((r) => r.Properties?.RouteKey as string).sort(),
    );
    for (const route of served) expect(route.Properties?.AuthorizationType).toBe('AWS_IAM');
  });
});

describe('the discrepancy alarm', () => {
  it('fires at the first BillDiscrepancies of the bills Lambda, in the stack’s namespace', () => {
    const alarmId = logicalId(stack.billReconciler.discrepancyAlarm);
    const alarm = template.toJSON().Resources[alarmId] as CfnResource;
    expect(alarm.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_BILL_DISCREPANCIES,
      // Powertools' dimension: only the bills function emits the metric.
      Dimensions: [{ Name: 'service', Value: 'bills' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      // The metric comes once per run, hours apart: the time between runs is not a breach.
      TreatMissingData: 'notBreaching',
      AlarmDescription: BILL_DISCREPANCIES_ALARM.description,
    });
    expect(BILL_DISCREPANCIES_ALARM.threshold).toBe(1);
  });

  it('notifies the alarm topic, like every other alarm', () => {
    const alarm = template.toJSON().Resources[logicalId(stack.billReconciler.discrepancyAlarm)] as CfnResource;
    expect(alarm.Properties?.AlarmActions).toEqual([{ Ref: logicalId(stack.alarms.topic) }]);
  });
});
