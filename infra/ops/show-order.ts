/**
 * `npm run orders -- <out_trade_no> [--json]`: an operator's view of one order, read from the store
 * through its adapters: the order, each status change, the events it produced (oldest first), the
 * notifications received, its refunds. From a deployed table when TABLE_NAME is set (with AWS_REGION
 * and the default AWS credentials; AWS_ENDPOINT_URL_DYNAMODB points elsewhere), else from the local
 * stack running on DATA_DIR (`npm start`). Exits 1 when the order is not there, 2 on bad usage.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { dataDirOf } from '#sandbox/local/local-settings';
import { localDynamoDbClient } from '#sandbox/local/resources';
import { readRunningStack } from '#sandbox/local/running-stack-file';
import { parseOutTradeNo } from '#shared/app/create-order-schema';
import { readOrderRecord, type OrderTable } from './order-record';
import { orderReportJson, orderReportText } from './order-report';

export class ShowOrderUsageError extends Error {}

const USAGE = 'usage: npm run orders -- <out_trade_no> [--json]';

export interface ShowOrderArguments {
  outTradeNo: string;
  json: boolean;
}

/** The command line, checked: a usage error names what is wrong. */
export function showOrderArguments(argv: readonly string[]): ShowOrderArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new ShowOrderUsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) {
    throw new ShowOrderUsageError(`${positionals.length === 0 ? 'no' : 'more than one'} out_trade_no\n${USAGE}`);
  }
  let outTradeNo: string;
  try {
    outTradeNo = parseOutTradeNo(positionals[0]);
  } catch (error) {
    throw new ShowOrderUsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  return { outTradeNo, json: values.json };
}

/** Where the orders are read, and how to let go of its connections. */
export interface OrderSource {
  table: OrderTable;
  /** For the operator: which store answered. */
  description: string;
  close(): void;
}

/**
 * TABLE_NAME (a deployed table, with AWS_REGION) when set, as it is the operator's explicit choice;
 * otherwise the local stack running on DATA_DIR.
 */
export function orderSource(env: Record<string, string | undefined>): OrderSource {
  const tableName = nonBlank(env.TABLE_NAME);
  if (tableName !== undefined) {
    const region = nonBlank(env.AWS_REGION);
    if (region === undefined) {
      throw new ShowOrderUsageError(`TABLE_NAME is set but AWS_REGION is not: the region of the table ${tableName}`);
    }
    const endpoint = nonBlank(env.AWS_ENDPOINT_URL_DYNAMODB);
    if (endpoint !== undefined && !URL.canParse(endpoint)) {
      throw new ShowOrderUsageError('AWS_ENDPOINT_URL_DYNAMODB is not a URL');
    }
    // The default credential chain (environment, profile, SSO, role), as the AWS CLI.
    const client = new DynamoDBClient({ region, ...(endpoint === undefined ? {} : { endpoint }) });
    return {
      table: { client: DynamoDBDocumentClient.from(client), tableName },
      description: `table ${tableName} in ${region}${endpoint === undefined ? '' : ` at ${endpoint}`}`,
      close: () => client.destroy(),
    };
  }
  const dataDir = dataDirOf(env);
  const running = readRunningStack(dataDir);
  if (running === undefined) {
    throw new ShowOrderUsageError(
      `no local stack is running on ${dataDir} (start it with npm start), and TABLE_NAME is not set ` +
        '(for a deployed table: TABLE_NAME and AWS_REGION)',
    );
  }
  if (running.dynamodbEndpoint === undefined || running.tableName === undefined) {
    throw new ShowOrderUsageError(
      `the local stack running on ${dataDir} did not say where its orders are: restart it (npm start)`,
    );
  }
  const client = localDynamoDbClient(running.dynamodbEndpoint);
  return {
    table: { client: DynamoDBDocumentClient.from(client), tableName: running.tableName },
    description: `local stack, table ${running.tableName} at ${running.dynamodbEndpoint}`,
    close: () => client.destroy(),
  };
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** The whole command; its exit status: 0 shown, 1 no such order (or the store failed), 2 bad usage. */
export async function showOrder(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  output: Output,
): Promise<number> {
  let args: ShowOrderArguments;
  let source: OrderSource;
  try {
    args = showOrderArguments(argv);
    source = orderSource(env);
  } catch (error) {
    if (!(error instanceof ShowOrderUsageError)) throw error;
    output.err(`orders: ${error.message}\n`);
    return 2;
  }
  try {
    const record = await readOrderRecord(source.table, args.outTradeNo);
    if (record === undefined) {
      output.err(`orders: no order ${args.outTradeNo} in the ${source.description}\n`);
      return 1;
    }
    output.out(
      args.json
        ? `${JSON.stringify(orderReportJson(record), null, 2)}\n`
        : `(${source.description})\n${orderReportText(record)}`,
    );
    return 0;
  } catch (error) {
    output.err(`orders: reading the ${source.description} failed: ${errorText(error)}\n`);
    return 1;
  } finally {
    source.close();
  }
}

/** The SDK's error name says most (ResourceNotFoundException, CredentialsProviderError, …). */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`;
}

async function main(): Promise<void> {
  process.exitCode = await showOrder(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
