// Starts a real Mosquitto on a free port for the swarm to test against.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, canConnect } from '../../helpers/ports.js';
export { freePort };

export interface RunningMosquitto { port: number; pid: number; url: string; stop(): Promise<void> }



export async function startMosquitto(): Promise<RunningMosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`);
  const child: ChildProcess = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) throw new Error(`mosquitto did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port, pid: child.pid!, url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
