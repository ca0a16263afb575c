import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { HttpStage, ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { APP_BACKEND_ROUTES } from '#shared/app/routes';

export interface AppBackendApiProps {
  /** Serves create, get and close. */
  readonly ordersFunction: IFunction;
  readonly throttle?: ThrottleSettings;
}

export const DEFAULT_THROTTLE: ThrottleSettings = { rateLimit: 100, burstLimit: 200 };

/**
 * The HTTP API the merchant's own backend calls. Every route requires SigV4 (IAM authorization):
 * only principals the merchant grants execute-api:Invoke can create or close payments.
 */
export class AppBackendApi extends Construct {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  /** Base URL, ending in '/'. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: AppBackendApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'WeChat Pay backend: app-backend API (IAM authorization)',
      defaultAuthorizer: new HttpIamAuthorizer(),
      // The default stage is created below, because only an explicit stage takes throttling.
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('Orders', props.ordersFunction);
    // The table the orders handler dispatches on and the local gateway serves.
    for (const route of Object.values(APP_BACKEND_ROUTES)) {
      this.httpApi.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
    }
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? DEFAULT_THROTTLE,
    });
    this.url = this.stage.url;
  }
}
