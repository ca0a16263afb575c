import { CfnParameter, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The merchant's WeChat Pay credentials, kept in Secrets Manager and created by the merchant, never by
 * this stack: no credential is ever in code, in a Lambda's environment or in the template. The
 * Lambdas get only the secret's id (WECHATPAY_SECRET_ID), read it once per container and cache it.
 *
 * The secret's value is one JSON object:
 *
 *   {
 *     "appid":       "wx…",              // the AppID the merchant account is bound to
 *     "mchid":       "1900000109",       // merchant id (mch_id)
 *     "apiVersion":  "v2" | "v3",        // optional, default "v2"
 *     "apiKey":      "…",                // v2 (required for v2): the 32-character APIv2 key
 *     "privateKey":  "-----BEGIN PRIVATE KEY-----…", // v3: merchant API private key (PEM)
 *     "certSerial":  "…",                // v3: serial number of the merchant API certificate
 *     "apiV3Key":    "…",                // v3: the 32-byte APIv3 key (decrypts notifications)
 *     "publicKey":   "-----BEGIN PUBLIC KEY-----…",  // v3, optional: WeChat Pay public key (PEM)
 *     "publicKeyId": "PUB_KEY_ID_…",     // v3, with publicKey: its id, as sent in Wechatpay-Serial
 *
 *     // v2 refunds only: the merchant's API client certificate (商户API证书), presented over mutual TLS
 *     // on /secapi/pay/refund. Either the PEM pair WeChat's certificate tool writes …
 *     "apiClientCert": "-----BEGIN CERTIFICATE-----…",  // apiclient_cert.pem
 *     "apiClientKey":  "-----BEGIN PRIVATE KEY-----…",  // apiclient_key.pem
 *     // … or, instead of the pair, the PKCS#12 file, base64-encoded (`base64 -w0 apiclient_cert.p12`):
 *     "apiClientP12":         "MIIK…",
 *     "apiClientP12Password": "1900000109",  // optional: WeChat sets it to the mchid, the default
 *
 *     // Mini program login only (POST /miniprogram/sessions): the AppSecret of the mini program whose
 *     // AppID is "appid" above, 16 to 64 letters or digits.
 *     "appSecret":   "…"
 *   }
 *
 * Without a certificate everything but v2 refunds works (v3 refunds are signed with privateKey). A
 * certificate and key that are not a pair, swapped, or a p12 its password does not open is a
 * configuration error when the handler loads the secret, naming the field and never its value.
 * Without appSecret everything but mini program login works; that route then fails as a broken
 * deployment does (500, the Lambda error alarm, the log naming the field). In AWS the AppSecret is
 * only ever here, never a variable like the local stack's WECHAT_APPSECRET.
 *
 * Which secret: CDK context `merchantSecretArn` when given (a secret name, a partial ARN or a complete
 * ARN), else the stack parameter `MerchantSecretArn`, which must be the complete ARN (with the
 * six-character suffix Secrets Manager appends) because a parameter's value is unknown at synth time.
 * An ARN whose name itself ends in "-" and six letters or digits reads as complete (AWS advises
 * against such names for this reason); give the complete ARN for those.
 * A secret encrypted with a customer-managed KMS key also needs kms:Decrypt, which is not granted here.
 */
export interface MerchantSecretProps {
  /** The context value; undefined = use a stack parameter. */
  readonly secretNameOrArn: string | undefined;
}

export const MERCHANT_SECRET_PARAMETER = 'MerchantSecretArn';

// A complete ARN ends in "-" and the six random characters Secrets Manager appends to the name.
const COMPLETE_ARN = /^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const ANY_ARN = /^arn:[^:]+:secretsmanager:/;

export class MerchantSecret extends Construct {
  public readonly secret: ISecret;
  /** What GetSecretValue is called with: the name or ARN as configured. */
  public readonly secretId: string;
  /** Present when the secret comes from the stack parameter. */
  public readonly parameter: CfnParameter | undefined;

  constructor(scope: Construct, id: string, props: MerchantSecretProps) {
    super(scope, id);
    const configured = props.secretNameOrArn;
    if (configured === undefined) {
      // Created on the stack itself so its logical id is exactly MerchantSecretArn.
      this.parameter = new CfnParameter(Stack.of(this), MERCHANT_SECRET_PARAMETER, {
        type: 'String',
        description:
          'Complete ARN of the Secrets Manager secret holding the WeChat Pay merchant credentials ' +
          '(JSON, see the README)',
        allowedPattern: COMPLETE_ARN.source,
        constraintDescription: 'must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX)',
      });
      // CloudFormation's linter takes any parameter named *Secret* for a password wanting NoEcho.
      // Its findings on parameters are reported against the stack, so that is where this goes.
      Validations.of(Stack.of(this)).acknowledge({
        id: 'CloudFormation-Validate::W2509',
        reason: 'the value is the ARN of the secret, not a credential; echoing it is harmless',
      });
      this.secretId = this.parameter.valueAsString;
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', this.secretId);
      return;
    }
    this.parameter = undefined;
    this.secretId = configured;
    this.secret = importSecret(this, configured);
  }

  /** secretsmanager:GetSecretValue and DescribeSecret on this secret only. */
  grantRead(grantee: IGrantable): void {
    this.secret.grantRead(grantee);
  }
}

function importSecret(scope: Construct, value: string): ISecret {
  if (Token.isUnresolved(value)) return Secret.fromSecretCompleteArn(scope, 'Secret', value);
  if (COMPLETE_ARN.test(value)) return Secret.fromSecretCompleteArn(scope, 'Secret', value);
  // Without the suffix the policy has to match any suffix (`name-??????`), which CDK does for these two.
  if (ANY_ARN.test(value)) return Secret.fromSecretPartialArn(scope, 'Secret', value);
  return Secret.fromSecretNameV2(scope, 'Secret', value);
}
