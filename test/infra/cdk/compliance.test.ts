import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Stack } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addComplianceChecks } from '#infra/cdk/compliance-checks';
import { WechatPayStack } from '#infra/cdk/wechat-pay-stack';
import { appWithProjectContext, removeAssemblies } from './template-helpers';

/** What CDK's validation step found: one line per rule and construct, empty when nothing. */
interface Outcome {
  findings: string[];
  templateFile: string | undefined;
}

// Bundling the handlers changes nothing the checks look at (only asset hashes), so it is skipped.
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** Synthesizes the stack `build` adds to a fresh app, with the checks as `cdk synth` runs them. */
function synthesizeWithChecks(build: (app: App) => Stack): Outcome {
  const app = appWithProjectContext(NO_BUNDLING);
  const stack = build(app);
  addComplianceChecks(app);
  try {
    const assembly = app.synth();
    const templateFile = join(assembly.directory, assembly.getStackArtifact(stack.artifactId).templateFile);
    return { findings: [], templateFile };
  } catch (error) {
    const report = join(app.outdir, 'validation-report.json');
    if (!existsSync(report)) throw error;
    return { findings: findingsOf(report), templateFile: undefined };
  }
}

function findingsOf(reportFile: string): string[] {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
    pluginReports: Array<{
      pluginName: string;
      violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
    }>;
  };
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((c) => `${plugin.pluginName} ${violation.ruleName} at ${c.constructPath}`),
    ),
  );
}

afterAll(removeAssemblies);

describe('cdk-nag (AwsSolutions) over the stack', () => {
  let outcome: Outcome;
  beforeAll(() => {
    outcome = synthesizeWithChecks((app) => new WechatPayStack(app, 'WechatPayStack'));
  }, 120_000);

  it('has no finding that is not acknowledged with a reason', () => {
    expect(outcome.findings).toEqual([]);
  });

  it('passes cfn-lint without an error', () => {
    expect(outcome.templateFile, 'the stack did not synthesize').toBeDefined();
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--', outcome.templateFile!], { encoding: 'utf8' });
    if (lint.error !== undefined) {
      throw new Error(
        `cfn-lint could not be run (${lint.error.message}); install it (pip install cfn-lint) and put it on the PATH`,
      );
    }
    // Parseable lines: file:line:col:line:col:RULE:message; E = error, W = warning, I = informational.
    const errors = lint.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
    expect(errors).toEqual([]);
    // 0 = clean; 4/8 = warnings/informational only; 2 (errors) or anything else (a crash) fails.
    expect([0, 4, 8, 12], lint.stderr).toContain(lint.status);
  });
});

describe('the checks themselves', () => {
  it('fail the synthesis on a new finding (an unencrypted queue)', () => {
    const outcome = synthesizeWithChecks((app) => {
      const stack = new Stack(app, 'Probe');
      new Queue(stack, 'Plain', { encryption: QueueEncryption.UNENCRYPTED, enforceSSL: true });
      return stack;
    });
    expect(outcome.findings.some((f) => f.includes('AwsSolutions-SQS2') && f.includes('Probe/Plain'))).toBe(true);
  });
});
