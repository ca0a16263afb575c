import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerchantSecret } from '#infra/cdk/merchant-secret';
import { WechatPayStack } from '#infra/cdk/wechat-pay-stack';
import type { CfnResource } from './template-helpers';
import {
  appWithProjectContext,
  removeAssemblies,
  grantsOf,
  logicalId,
  resourcesOfType,
  statementsOfRole,
} from './template-helpers';

// What the stack does with context values. Bundling is switched off here (stack.test.ts proves it
// works); the template is otherwise the one `cdk synth -c …` gives.
const context = {
  merchantSecretArn: 'prod/wechatpay/merchant',
  wechatpayBaseUrl: 'https://wechatpay-sim.example.com/',
  wechatApiBaseUrl: 'https://wechat-api-sim.example.com/',
  reconcileSchedule: '15,45,90',
  alarmEmail: 'payments-oncall@example.com',
  keyRotationOverlapSeconds: '900',
  dueIndexShards: '16',
  miniProgramSessionTtlSeconds: '86400',
  'aws:cdk:bundling-stacks': [],
};

let stack: WechatPayStack;
let template: Template;

beforeAll(() => {
  stack = new WechatPayStack(appWithProjectContext(context), 'WechatPayStack');
  template = Template.fromStack(stack);
}, 60_000);

afterAll(removeAssemblies);

describe('stack configured by context', () => {
  it('takes the secret from context and then asks for no parameter', () => {
    expect(Object.keys(template.toJSON().Parameters ?? {})).not.toContain('MerchantSecretArn');
    const functions = [
      stack.ordersFunction,
      stack.notifyFunction,
      stack.reconcileFunction,
      stack.sweepFunction,
      stack.billReconciler.function,
    ];
    for (const fn of functions) {
      const env = (
        (template.toJSON().Resources[logicalId(fn)] as CfnResource).Properties?.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(env).toMatchObject({
        WECHATPAY_SECRET_ID: 'prod/wechatpay/merchant',
        WECHATPAY_BASE_URL: 'https://wechatpay-sim.example.com',
        RECONCILE_SCHEDULE: '15,45,90',
        KEY_ROTATION_OVERLAP_SECONDS: '900',
        DUE_INDEX_SHARDS: '16',
        MINIPROGRAM_SESSION_TTL_SECONDS: '86400',
      });
      expect(env).not.toHaveProperty('SWEEP_MAX_REQUEUES');
      if (fn === stack.ordersFunction) expect(env.WECHAT_API_BASE_URL).toBe('https://wechat-api-sim.example.com');
      else expect(env).not.toHaveProperty('WECHAT_API_BASE_URL');
    }
  });

  it('grants read on the named secret whatever suffix Secrets Manager gave it, and nothing wider', () => {
    const grants = grantsOf(statementsOfRole(template, logicalId(stack.ordersFunction.role!)));
    const resources = [...(grants.get('secretsmanager:GetSecretValue') ?? [])];
    expect(resources).toHaveLength(1);
    expect(resources[0]).toContain(':secret:prod/wechatpay/merchant-??????');
  });

  it('subscribes the alarm e-mail to the alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'payments-oncall@example.com',
      TopicArn: { Ref: logicalId(stack.alarms.topic) },
    });
  });

  it('refuses a context value that is not a secret name or ARN', () => {
    const app = appWithProjectContext({ ...context, merchantSecretArn: '{"apiKey":"x"}' });
    expect(() => new WechatPayStack(app, 'Refused')).toThrow(/merchantSecretArn/);
  });
});

describe('MerchantSecret', () => {
  function readGrant(secretNameOrArn: string): string {
    const tiny = new Stack(appWithProjectContext(), 'Tiny');
    const secret = new MerchantSecret(tiny, 'MerchantSecret', { secretNameOrArn });
    const role = new Role(tiny, 'Reader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    secret.grantRead(role);
    const tinyTemplate = Template.fromStack(tiny);
    expect(secret.secretId).toBe(secretNameOrArn);
    expect(Object.keys(resourcesOfType(tinyTemplate, 'AWS::SecretsManager::Secret'))).toEqual([]);
    return JSON.stringify([
      ...(grantsOf(statementsOfRole(tinyTemplate, logicalId(role))).get('secretsmanager:GetSecretValue') ?? []),
    ]);
  }

  it('grants a complete ARN exactly', () => {
    const arn = 'arn:aws:secretsmanager:ap-east-1:123456789012:secret:prod/wechatpay-AbC123';
    expect(readGrant(arn)).toBe(JSON.stringify([JSON.stringify(arn)]));
  });

  it('grants a partial ARN with any six-character suffix', () => {
    const arn = 'arn:aws:secretsmanager:ap-east-1:123456789012:secret:prod/wechatpay';
    expect(readGrant(arn)).toContain(`${arn}-??????`);
  });
});
