/**
 * AWS public list prices, us-east-1, on-demand, beyond the free tiers. As published on
 * aws.amazon.com/{lambda,dynamodb,sqs,api-gateway,cloudwatch,secrets-manager}/pricing, as of
 * 2025-07 (DynamoDB on-demand after the 2024-11-01 price cut). Check them before quoting a bill.
 */
export const PRICES = {
  asOf: '2025-07',
  region: 'us-east-1',
  /** Lambda on arm64 (Graviton), first pricing tier. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** DynamoDB on-demand, Standard table class. */
  dynamodbPerMillionWriteUnits: 0.625,
  dynamodbPerMillionReadUnits: 0.125,
  /** SQS standard queue; each 64 KB chunk of a request is one request. */
  sqsPerMillionRequests: 0.4,
  /** API Gateway HTTP API, first 300 million requests a month. */
  httpApiPerMillionRequests: 1.0,
  /** CloudWatch Logs ingestion (standard class). */
  logsPerGbIngested: 0.5,
} as const;

export type Prices = { [K in keyof typeof PRICES]: (typeof PRICES)[K] extends string ? string : number };

/**
 * What Lambda itself writes per invocation besides the function's own lines: START, END and REPORT
 * (text format, about 300 bytes together). An assumption, stated in the report.
 */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 300;

export interface FunctionUsage {
  name: string;
  /** Invocations per order. */
  invocations: number;
  /** Billed milliseconds per order (each invocation rounded up to 1 ms, as Lambda bills). */
  billedMs: number;
  memoryMb: number;
}

/** What one order used, on average. */
export interface UsagePerOrder {
  functions: FunctionUsage[];
  apiGatewayRequests: number;
  dynamodbReadUnits: number;
  dynamodbWriteUnits: number;
  sqsRequests: number;
  /** Bytes the handlers logged, plus the platform's own lines. */
  logBytes: number;
}

export interface Cost {
  total: number;
  byService: {
    lambdaRequests: number;
    lambdaCompute: number;
    apiGateway: number;
    dynamodb: number;
    sqs: number;
    logs: number;
  };
}

/** US dollars per million orders with this usage each. */
export function costPerMillion(usage: UsagePerOrder, prices: Prices = PRICES): Cost {
  const million = 1_000_000;
  const invocations = usage.functions.reduce((sum, f) => sum + f.invocations, 0);
  const gbSeconds = usage.functions.reduce((sum, f) => sum + (f.billedMs / 1000) * (f.memoryMb / 1024), 0);
  const byService = {
    lambdaRequests: invocations * prices.lambdaPerMillionRequests,
    lambdaCompute: gbSeconds * million * prices.lambdaArmPerGbSecond,
    apiGateway: usage.apiGatewayRequests * prices.httpApiPerMillionRequests,
    dynamodb:
      usage.dynamodbReadUnits * prices.dynamodbPerMillionReadUnits +
      usage.dynamodbWriteUnits * prices.dynamodbPerMillionWriteUnits,
    sqs: usage.sqsRequests * prices.sqsPerMillionRequests,
    logs: ((usage.logBytes * million) / 1024 ** 3) * prices.logsPerGbIngested,
  };
  const total = Object.values(byService).reduce((sum, x) => sum + x, 0);
  return { total, byService };
}
