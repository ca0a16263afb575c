import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import type { ServiceName } from '#infra/cdk/payment-function';
import { CONTEXT_KEYS } from '#infra/cdk/stack-settings';
import { WechatPayStack } from '#infra/cdk/wechat-pay-stack';

/**
 * Each deployed function's environment, read from the stack itself: WechatPayStack synthesized in this
 * process (bundling skipped, so it takes seconds, not a build), each function's Environment.Variables
 * taken from the template with every reference to another resource replaced by a placeholder of the
 * shape that resource has in AWS. A variable the stack adds later reaches the bench without anyone
 * keeping a second list; a reference of a kind not known here stops the bench instead of guessing.
 */

export interface DeployedEnvironment {
  /** The template's variables, references resolved to placeholders. */
  variables: Record<string, string>;
  memoryMb: number;
}

/** A webhook URL, so the synthesized stack has the webhooks function too (it exists only with one). */
const WEBHOOK_URL = 'https://merchant.example.com/webhooks';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface TemplateFunction {
  Environment?: { Variables?: Record<string, unknown> };
  MemorySize?: number;
}

export function deployedEnvironments(): Record<ServiceName, DeployedEnvironment> {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], [CONTEXT_KEYS.merchantWebhookUrl]: WEBHOOK_URL },
  });
  const stack = new WechatPayStack(app, 'WechatPayStack');
  const template = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, TemplateResource>;
    Parameters?: Record<string, unknown>;
  };
  const found: Partial<Record<ServiceName, DeployedEnvironment>> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = (resource.Properties ?? {}) as TemplateFunction;
    const raw = props.Environment?.Variables ?? {};
    const service = raw.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string') continue;
    const variables: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) variables[key] = placeholder(value, template, `${service} ${key}`);
    found[service as ServiceName] = { variables, memoryMb: props.MemorySize ?? 128 };
  }
  const missing = SERVICES.filter((s) => found[s] === undefined);
  if (missing.length > 0) throw new Error(`the synthesized stack has no function for ${missing.join(', ')}`);
  return found as Record<ServiceName, DeployedEnvironment>;
}

/** Every function the stack deploys (the webhooks one with a webhook URL). */
export const SERVICES: readonly ServiceName[] = [
  'orders',
  'notify',
  'reconcile',
  'sweep',
  'events',
  'webhooks',
  'bills',
];

function placeholder(
  value: unknown,
  template: { Resources: Record<string, TemplateResource>; Parameters?: Record<string, unknown> },
  where: string,
): string {
  if (typeof value === 'string') return value;
  const token = value as Record<string, unknown>;
  if (typeof token.Ref === 'string') {
    const id = token.Ref;
    if (template.Parameters?.[id] !== undefined && /Secret/.test(id)) return secretArn(id);
    const type = template.Resources[id]?.Type;
    switch (type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::Events::EventBus':
        return `WechatPayStack-${id}`;
      case 'AWS::SQS::Queue': {
        const fifo = template.Resources[id]?.Properties?.FifoQueue === true;
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/WechatPayStack-${id}${fifo ? '.fifo' : ''}`;
      }
      case 'AWS::SecretsManager::Secret':
        return secretArn(id);
    }
  }
  const getAtt = token['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'FunctionUrl') {
    return `https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.${REGION}.on.aws/`;
  }
  const join = token['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return (join[1] as unknown[]).map((part) => placeholder(part, template, where)).join(join[0]);
  }
  throw new Error(`${where}: no placeholder for ${JSON.stringify(value)}: add one in bench/deployed-environment.ts`);
}

function secretArn(id: string): string {
  return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:WechatPayStack-${id}-AbCdEf`;
}

/**
 * What Lambda itself sets beside the function's own variables (region, name, memory, the execution
 * role's temporary credentials). Nothing reaches a network at start: secrets are read on the first
 * invocation, and the SDK resolves credentials on the first call.
 */
export function lambdaRuntimeVariables(name: string, memoryMb: number): Record<string, string> {
  return {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: `WechatPayStack-${name}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_ACCESS_KEY_ID: 'ASIABENCHPLACEHOLDER',
    AWS_SECRET_ACCESS_KEY: 'bench-placeholder',
    AWS_SESSION_TOKEN: 'bench-placeholder',
    TZ: ':UTC',
  };
}
