import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, ParamsAndSecretsLayerVersion, ParamsAndSecretsVersions, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '#shared/config/metric-names';

/** The handlers, one file each in functions/, and the service name each reports under. */
export type ServiceName = 'orders' | 'notify' | 'reconcile' | 'sweep' | 'events' | 'webhooks' | 'bills';

const DEFAULT_TIMEOUT = Duration.seconds(10);

/**
 * The functions that read a Secrets Manager secret (the merchant's credentials, or the webhook signing
 * secret): they get the AWS Parameters and Secrets Lambda Extension and read through it
 * (shared/app/secrets-extension-reader.ts) instead of loading a Secrets Manager client at start. The
 * stack test holds this list to the functions granted secretsmanager:GetSecretValue.
 */
export const SECRET_READERS: ReadonlySet<ServiceName> = new Set(['orders', 'notify', 'reconcile', 'bills', 'webhooks']);

/**
 * The extension's port is written out (the handlers choose the reader by its variable), and its cache
 * is off: MerchantCredentialsSource caches, and the reload() a rotation asks for must reach Secrets
 * Manager rather than a copy up to 5 minutes old.
 */
export const SECRETS_EXTENSION_PORT = 2773;
const SECRETS_EXTENSION = ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
  cacheEnabled: false,
  httpPort: SECRETS_EXTENSION_PORT,
  // The handler gives up on an attempt after 2 s (SECRET_READ_TIMEOUT_MS); without a limit of its own
  // the extension's call to Secrets Manager would stay open after that, holding one of its connections.
  secretsManagerTimeout: Duration.millis(1_800),
});

export interface PaymentFunctionProps {
  readonly service: ServiceName;
  /** Added to the variables every handler gets (service name, metrics namespace). */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Some bundled CommonJS dependencies call require() for Node built-ins, which ESM output lacks.
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * How every handler is bundled. Exported so the bench bundles exactly what the stack deploys
 * (bench/bundle.ts) instead of keeping a copy that could drift.
 *
 * The AWS SDK is bundled in (bundleAwsSDK), not left to the runtime's copy: one minified module
 * starts faster than the runtime's hundreds of files (bench part 1), and the SDK that runs is the
 * version the tests ran. The source map is written beside the bundle for reading a stack trace by
 * hand, but Node is not told to load it (no --enable-source-maps): parsing it costs every cold start
 * tens of milliseconds (bench part 1), a trace is rare.
 */
export const PAYMENT_BUNDLING = {
  forceDockerBundling: false,
  bundleAwsSDK: true,
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: REQUIRE_SHIM,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  logLevel: LogLevel.WARNING,
} satisfies BundlingOptions;

/**
 * One of our Lambdas, with the defaults every handler shares in one place: Node.js 24 on arm64,
 * bundled locally by esbuild (never Docker), SDK included, as minified ESM, logs kept a month.
 */
export class PaymentFunction extends NodejsFunction {
  public readonly service: ServiceName;

  constructor(scope: Construct, id: string, props: PaymentFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    // Our own role rather than the default one with AWSLambdaBasicExecutionRole, which may write to
    // every log group of the account: this one writes to the function's own group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `The ${props.service} Lambda: its own log group plus the grants the stack adds`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: join(REPO_ROOT, 'functions', `${props.service}.ts`),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      bundling: PAYMENT_BUNDLING,
      ...(SECRET_READERS.has(props.service) ? { paramsAndSecrets: SECRETS_EXTENSION } : {}),
    });
    this.service = props.service;
  }
}
