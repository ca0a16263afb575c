import { FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { NOTIFY_ROUTE } from '#shared/app/routes';

export interface NotifyEndpointProps {
  readonly notifyFunction: IFunction;
}

/**
 * Where WeChat Pay delivers notifications: a public Function URL. WeChat cannot sign SigV4, so the
 * URL has no AWS auth; the notify Lambda trusts only WeChat's own signatures.
 */
export class NotifyEndpoint extends Construct {
  public readonly functionUrl: FunctionUrl;
  /** The notify_url sent with every order: no query string, as WeChat requires. */
  public readonly notifyUrl: string;

  constructor(scope: Construct, id: string, props: NotifyEndpointProps) {
    super(scope, id);
    this.functionUrl = new FunctionUrl(this, 'FunctionUrl', {
      function: props.notifyFunction,
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });
    // Function URLs end in '/'; the notify handler answers only on NOTIFY_ROUTE's path.
    this.notifyUrl = `${this.functionUrl.url}${NOTIFY_ROUTE.path.slice(1)}`;
  }
}
