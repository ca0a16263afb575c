import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from './cdk/compliance-checks';
import { WechatPayStack } from './cdk/wechat-pay-stack';
import { writeOpenApiFile } from './openapi/openapi-file';

// No env: the stack is environment-agnostic, so synth needs no AWS credentials or lookups.
const app = new App();
new WechatPayStack(app, 'WechatPayStack', {
  description: 'Serverless WeChat Pay backend: orders API, notify endpoint, reconciler',
});
addComplianceChecks(app);
const assembly = app.synth();
// The API's OpenAPI document beside the template (cdk.out/openapi.json), for the deploy to publish.
writeOpenApiFile(assembly.directory);
