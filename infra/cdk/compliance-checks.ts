import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * cdk-nag's AwsSolutions rules, run by CDK's validation step at synthesis: an unacknowledged finding
 * fails `cdk synth` (and so `npm test`), with the rule and the construct. A finding that is accepted
 * is acknowledged where the resource is defined (`Validations.of(resource).acknowledge`), with the
 * reason, never for the whole stack.
 */
export function addComplianceChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
