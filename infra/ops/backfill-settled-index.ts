/**
 * `npm run backfill:settled-index -- --table <name> [--region <r>] [--endpoint <url>] [--segments <n>]`:
 * files the orders PAID and refunds SUCCESS written before the settled index existed under their bill's
 * day (shared/adapters/dynamodb-settled-backfill.ts). Run once, after the release that writes the index
 * is deployed; running it again is harmless. Credentials come from the usual AWS environment (profile,
 * role, variables); --endpoint points at another DynamoDB, such as a local one.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { backfillSettledIndex } from '#shared/adapters/dynamodb-settled-backfill';

export class BackfillUsageError extends Error {}

export interface BackfillArguments {
  table: string;
  region?: string;
  endpoint?: string;
  segments?: number;
}

const USAGE =
  'usage: npm run backfill:settled-index -- --table <name> [--region <r>] [--endpoint <url>] [--segments <n>]';

/** The command line, checked: a usage error names what is wrong. */
export function backfillArguments(argv: string[]): BackfillArguments {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        table: { type: 'string' },
        region: { type: 'string' },
        endpoint: { type: 'string' },
        segments: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BackfillUsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.table === undefined || values.table === '') throw new BackfillUsageError(`--table is required\n${USAGE}`);
  const parsed: BackfillArguments = { table: values.table };
  if (values.region !== undefined) parsed.region = values.region;
  if (values.endpoint !== undefined) {
    if (!URL.canParse(values.endpoint)) throw new BackfillUsageError(`--endpoint is not a URL\n${USAGE}`);
    parsed.endpoint = values.endpoint;
  }
  if (values.segments !== undefined) {
    const segments = Number(values.segments);
    if (!Number.isInteger(segments) || segments < 1 || segments > 1000) {
      throw new BackfillUsageError(`--segments must be a whole number from 1 to 1000\n${USAGE}`);
    }
    parsed.segments = segments;
  }
  return parsed;
}

async function main(): Promise<void> {
  let args: BackfillArguments;
  try {
    args = backfillArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`backfill-settled-index: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  const client = new DynamoDBClient({
    ...(args.region === undefined ? {} : { region: args.region }),
    ...(args.endpoint === undefined ? {} : { endpoint: args.endpoint }),
  });
  try {
    const counts = await backfillSettledIndex({
      tableName: args.table,
      client: DynamoDBDocumentClient.from(client),
      ...(args.segments === undefined ? {} : { segments: args.segments }),
    });
    console.log(JSON.stringify({ table: args.table, ...counts }));
  } catch (error) {
    console.error(`backfill-settled-index: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    client.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
