import { openApiJson } from './openapi-file';

/**
 * `npm run openapi [-- --server-url <url>]`: the OpenAPI 3.1 document of the app-backend API on
 * stdout, optionally naming the server it describes (a deployed API's URL).
 */
const USAGE = 'usage: npm run openapi [-- --server-url <http(s) url>]';

function serverUrlOf(args: readonly string[]): string | undefined {
  if (args.length === 0) return undefined;
  const [flag, value] = args;
  if (args.length !== 2 || flag !== '--server-url' || value === undefined) throw new Error(USAGE);
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new Error(`--server-url must be an http(s) URL\n${USAGE}`);
  }
  return value;
}

try {
  process.stdout.write(openApiJson({ serverUrl: serverUrlOf(process.argv.slice(2)) }));
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
