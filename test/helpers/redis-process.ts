// The processes of redis-server.ts and redis-sentinel.ts: spawned, ready once they answer PING,
// stopped with SIGTERM, and all killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const START_TIMEOUT_MS = 10_000;

/**
 * Spawns bin with args in cwd and resolves once 127.0.0.1:port answers PING; rejects with the
 * process's last output if it exits first (e.g. EADDRINUSE) or does not answer in 10 s.
 */
export async function spawnAnswering(bin: string, args: readonly string[], cwd: string, port: number): Promise<ChildProcess> {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let exited = false;
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) => {
    const gone = () => ((exited = true), live.delete(child), resolve());
    child.once('exit', gone);
    child.once('error', (err) => ((output += String(err)), gone()));
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!exited) {
    if (await answersPing(port)) {
      // Running for good now: stop collecting its output (but keep the pipes drained).
      child.stdout?.removeListener('data', keep).resume();
      child.stderr?.removeListener('data', keep).resume();
      return child;
    }
    if (Date.now() > deadline) break;
    await Promise.race([exit, new Promise((r) => setTimeout(r, 20))]);
  }
  child.kill('SIGKILL');
  throw new Error(`${bin} on port ${port} did not start: ${output.trim() || 'no answer to PING'}`);
}

/** SIGTERM, and resolves once the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    // With persistence off redis-server exits at once.
    child.kill('SIGTERM');
  });
}

/** SIGKILL, no waiting. */
export function killChild(child: ChildProcess): void {
  child.kill('SIGKILL');
  live.delete(child);
}

/** Whether a Redis (or Sentinel) on 127.0.0.1:port answers PING with +PONG. */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
