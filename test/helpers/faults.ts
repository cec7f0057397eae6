// Deliberate faults for failure tests, with real signals: kill -9 a worker, stop and continue a
// process (Redis, a worker). Each resolves on the event that proves the fault took effect.
import type { TestCluster } from './cluster-harness.js';
import { waitFor } from './wait.js';

/** kill -9 of the worker running nodeId; resolves once the primary has logged its death. */
export async function killNode(cluster: TestCluster, nodeId: string): Promise<void> {
  const entry = [...cluster.workers].find(([, node]) => node === nodeId);
  if (entry === undefined) throw new Error(`no live worker runs node ${nodeId}`);
  process.kill(entry[0], 'SIGKILL');
  await cluster.waitForLog((l) => l.msg === 'primary: worker died; forking a replacement' && l.nodeId === nodeId, `the death of ${nodeId}`);
}

/** SIGSTOP pid (a stalled process: its sockets stay open, nothing is read or answered). */
export function stopProcess(pid: number): void {
  process.kill(pid, 'SIGSTOP');
}

export function continueProcess(pid: number): void {
  process.kill(pid, 'SIGCONT');
}

/** Resolves once the cluster has two ready workers again and none of them is `dead`. */
export async function replaced(cluster: TestCluster, dead: string, workers = 2): Promise<void> {
  await waitFor(() => cluster.pids().length === workers && ![...cluster.workers.values()].includes(dead), `a replacement for ${dead}`, 20_000);
}
