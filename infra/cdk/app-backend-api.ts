import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import type { HttpStage, ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { APP_BACKEND_ROUTES, BILL_ROUTES, type Route } from '#shared/app/routes';

export interface AppBackendApiProps {
  /** Serves the orders, refunds, events and mini program routes (APP_BACKEND_ROUTES). */
  readonly ordersFunction: IFunction;
  /** Serves the bill reconciliation routes (BILL_ROUTES). */
  readonly billsFunction: IFunction;
  readonly throttle?: ThrottleSettings;
}

export const DEFAULT_THROTTLE: ThrottleSettings = { rateLimit: 100, burstLimit: 200 };

/**
 * One JSON line per request: who called (the IAM caller and user ARN, as SigV4 authenticated them),
 * which route, what came back and how long the Lambda took. Enough to answer "who created or closed
 * this order"; no body or header is logged, so nothing of the payment leaks into the log.
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    sourceIp: '$context.identity.sourceIp',
    caller: '$context.identity.caller',
    userArn: '$context.identity.userArn',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    responseLength: '$context.responseLength',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  }),
);

/**
 * The HTTP API the merchant's own backend calls. Every route requires SigV4 (IAM authorization):
 * only principals the merchant grants execute-api:Invoke can create or close payments or run a
 * reconciliation. API Gateway waits 30 s for an answer at most: a reconciliation that takes longer goes
 * on in its Lambda, and its report is then read with GET /reconciliations/{bill_date}.
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
    // The tables the handlers dispatch on and the local gateway serves.
    const serve = (routes: Readonly<Record<string, Route>>, integration: HttpLambdaIntegration) => {
      for (const route of Object.values(routes)) {
        this.httpApi.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
      }
    };
    serve(APP_BACKEND_ROUTES, new HttpLambdaIntegration('Orders', props.ordersFunction));
    serve(BILL_ROUTES, new HttpLambdaIntegration('Bills', props.billsFunction));
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? DEFAULT_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(
          new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH }),
        ),
        format: ACCESS_LOG_FORMAT,
      },
    });
    this.url = this.stage.url;
  }
}
