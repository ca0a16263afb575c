import { Aws, CfnCondition, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { IFunction, CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { NOTIFY_ROUTE } from '#shared/app/routes';

export interface NotifyEndpointProps {
  readonly notifyFunction: IFunction;
}

export const NOTIFY_CONCURRENCY_PARAMETER = 'NotifyReservedConcurrency';

/**
 * Enough for any merchant's genuine traffic: a notification takes a signature check and two or three
 * DynamoDB calls (well under a second), so 20 at once is over a hundred notifications a second, and
 * WeChat retries whatever is throttled (the reconciler also finds every payment by query). What it
 * bounds is a flood of the public URL: at most 20 of the account's executions, so `POST /orders`, the
 * reconciler and the sweep keep theirs. It is also a floor: those 20 stay notify's when the others
 * are busy.
 */
export const DEFAULT_NOTIFY_RESERVED_CONCURRENCY = 20;

/**
 * Where WeChat Pay delivers payment and refund notifications: a public Function URL. WeChat cannot sign SigV4, so the
 * URL has no AWS auth; the notify Lambda trusts only WeChat's own signatures. A Function URL has no
 * throttling of its own, so the function's reserved concurrency is what bounds a flood (the
 * `NotifyReservedConcurrency` stack parameter; see the README's Deploying section for why notify is
 * not behind API Gateway or CloudFront).
 */
export class NotifyEndpoint extends Construct {
  public readonly functionUrl: FunctionUrl;
  /** The notify_url sent with every order: no query string, as WeChat requires. */
  public readonly notifyUrl: string;
  public readonly reservedConcurrency: CfnParameter;

  constructor(scope: Construct, id: string, props: NotifyEndpointProps) {
    super(scope, id);
    this.functionUrl = new FunctionUrl(this, 'FunctionUrl', {
      function: props.notifyFunction,
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });
    // Function URLs end in '/' and hand every path to the function, which answers only on NOTIFY_ROUTES:
    // payments on NOTIFY_ROUTE's path (this notify_url) and refunds on NOTIFY_REFUND_ROUTE's beside it
    // (the orders handler derives the refund notify_url from this one), so one URL serves both.
    this.notifyUrl = `${this.functionUrl.url}${NOTIFY_ROUTE.path.slice(1)}`;

    const stack = Stack.of(this);
    // On the stack itself so its logical id is exactly the documented name.
    this.reservedConcurrency = new CfnParameter(stack, NOTIFY_CONCURRENCY_PARAMETER, {
      type: 'Number',
      default: DEFAULT_NOTIFY_RESERVED_CONCURRENCY,
      minValue: 0,
      maxValue: 1000,
      description:
        'Concurrent executions reserved for (and capping) the public notify endpoint. 0 = no reservation, ' +
        'for accounts whose concurrency quota cannot spare it (Lambda keeps 100 unreserved)',
    });
    // Reserving 0 would throttle every notification, so 0 leaves the property out instead.
    const unbounded = new CfnCondition(stack, `${NOTIFY_CONCURRENCY_PARAMETER}IsZero`, {
      expression: Fn.conditionEquals(this.reservedConcurrency.valueAsString, '0'),
    });
    const cfnFunction = props.notifyFunction.node.defaultChild as CfnFunction;
    cfnFunction.reservedConcurrentExecutions = Fn.conditionIf(
      unbounded.logicalId,
      Aws.NO_VALUE,
      this.reservedConcurrency.valueAsNumber,
    ) as unknown as number;
  }
}
