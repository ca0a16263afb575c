import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

/** A CloudFormation resource as it appears in the synthesized template. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

const assemblyDirs: string[] = [];

/**
 * An app with the context `cdk synth` gets from cdk.json, so tests synthesize what the CLI
 * synthesizes. Its assembly (with the bundles) goes to a temporary folder; see removeAssemblies.
 */
export function appWithProjectContext(extra: Record<string, unknown> = {}): App {
  const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'wechatpay-cdk-test-'));
  assemblyDirs.push(outdir);
  return new App({ outdir, context: { ...cdkJson.context, ...extra } });
}

/** Deletes the assemblies the apps of this test file wrote. */
export function removeAssemblies(): void {
  for (const dir of assemblyDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

export function resourcesOfType(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

export function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Every Allow statement of every inline policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const policies = Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).filter((policy) =>
    asList(policy.Properties?.Roles as unknown[]).some(
      (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
    ),
  );
  return policies.flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** action -> the resources it is allowed on (each as canonical JSON), over all statements. */
export function grantsOf(statements: Statement[]): Map<string, Set<string>> {
  const grants = new Map<string, Set<string>>();
  for (const statement of statements) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of asList(statement.Action)) {
      const resources = grants.get(action) ?? new Set<string>();
      for (const resource of asList(statement.Resource)) resources.add(JSON.stringify(resource));
      grants.set(action, resources);
    }
  }
  return grants;
}

export function getAttArn(id: string): string {
  return JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
}
