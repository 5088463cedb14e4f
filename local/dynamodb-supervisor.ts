/**
 * The process between a harness and its DynamoDB Local JVM (started by dynamodb-local.ts, never imported).
 *
 * - The JVM lives exactly as long as the harness: this process stops it when its stdin closes, which also
 *   happens when the harness is SIGKILLed (a JVM cannot watch its parent; nothing else would stop it).
 * - With `socketPath` it runs inside a private network namespace (`unshare -rn`, only loopback, brought up
 *   here): DynamoDB Local binds every interface and takes no bind address, so there it is unreachable from the
 *   network; the harness reaches it through a Unix socket this process serves and a TCP listener on its own
 *   127.0.0.1.
 *
 * Argument: one JSON `SupervisorConfig`. Prints one JSON line `{"javaPid": N}` once the JVM is spawned.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { NAMESPACE_FAILED, type SupervisorConfig } from '#local/dynamodb-local';

const IP_COMMANDS = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];

function main(): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as SupervisorConfig;
  if (config.socketPath) {
    // A fresh network namespace has only a loopback interface, and it is down.
    const ip = IP_COMMANDS.find((path) => existsSync(path));
    const up = ip ? spawnSync(ip, ['link', 'set', 'lo', 'up'], { stdio: 'ignore' }) : undefined;
    if (!up || up.status !== 0) process.exit(NAMESPACE_FAILED);
  }

  const java = spawn(config.java, config.args, { cwd: config.cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  process.stdout.write(`${JSON.stringify({ javaPid: java.pid })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (java.exitCode === null && java.signalCode === null) {
      java.kill('SIGTERM');
      setTimeout(() => java.kill('SIGKILL'), 5_000).unref();
    }
  };
  process.stdin.on('end', stop).on('close', stop).resume();
  process.on('SIGTERM', stop).on('SIGINT', stop);
  java.on('exit', (code, signal) => {
    if (config.socketPath) rmSync(config.socketPath, { force: true });
    process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
  });

  if (config.socketPath) {
    const bridge = createServer((client) => {
      const upstream = connect(config.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    rmSync(config.socketPath, { force: true });
    bridge.listen(config.socketPath);
  }
}

main();
