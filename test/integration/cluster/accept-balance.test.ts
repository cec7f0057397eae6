// Accepting connections with Starling's default policy: the workers accept from the shared socket
// themselves (no hand-off through the primary), and a worker holding more than its share of
// connections stops accepting until the others have caught up.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectClient } from '../../helpers/broker-harness.js';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { nodeOfClient } from '../../helpers/cluster-clients.js';

let cluster: TestCluster;
const open = new Map<string, MqttClient>();

beforeAll(async () => {
  // The harness asks for round robin (to place clients); '' leaves Starling's default.
  cluster = await startTestCluster({ workers: 2, env: { NODE_CLUSTER_SCHED_POLICY: '' } });
});

afterAll(async () => {
  for (const c of open.values()) c.end(true);
  await cluster?.close();
});

/** The pids (among `pids`) that hold the socket listening on `port`, read from /proc. */
function holdersOfListeningSocket(port: number, pids: number[]): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; column 9 is the inode.
      if (cols.length > 9 && cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9] as string);
    }
  }
  return pids.filter((pid) => readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      return target.startsWith('socket:[') && inodes.has(target.slice(8, -1));
    } catch {
      return false; // closed while we looked
    }
  }));
}

async function connectMany(prefix: string, n: number): Promise<Map<string, string>> {
  const placed = new Map<string, string>();
  for (let i = 0; i < n; i += 50) {
    const ids = Array.from({ length: Math.min(50, n - i) }, (_, k) => `${prefix}-${i + k}`);
    await Promise.all(ids.map(async (clientId) => open.set(clientId, await connectClient(cluster.url, { clientId, clean: true, connectTimeout: 20_000 }))));
    for (const id of ids) placed.set(id, await nodeOfClient(cluster, id));
  }
  return placed;
}

async function closeClients(ids: string[]): Promise<void> {
  await Promise.all(ids.map(async (id) => {
    await open.get(id)?.endAsync();
    open.delete(id);
  }));
}

it('by default every worker accepts from the shared socket itself, not through the primary', () => {
  const workerPids = cluster.pids();
  expect(workerPids).toHaveLength(2);
  expect(holdersOfListeningSocket(cluster.port, workerPids)).toEqual(workerPids);
});

it('a worker with more than its share stops accepting until the others catch up, then accepts again', async () => {
  const [pidA, pidB] = cluster.pids() as [number, number];
  const nodeOfPid = new Map([...cluster.workers].map(([pid, node]) => [node, pid]));
  const first = await connectMany('spread', 300);
  // Make one worker hold everything: close every client of the worker that got fewer.
  const byPid = new Map<number, string[]>([[pidA, []], [pidB, []]]);
  for (const [id, node] of first) byPid.get(nodeOfPid.get(node) ?? 0)?.push(id);
  const [loaded, light] = (byPid.get(pidA)!.length >= byPid.get(pidB)!.length ? [pidA, pidB] : [pidB, pidA]) as [number, number];
  const loadedIds = byPid.get(loaded)!;
  expect(loadedIds.length).toBeGreaterThanOrEqual(150);
  await closeClients(byPid.get(light)!);

  // Above mean + 64 connections: the primary tells it to stop, and it closes its listening handle.
  await cluster.waitForLog((l) => l.pid === loaded && l.msg === 'worker: stopped accepting connections', 'the loaded worker to stop accepting');
  expect(holdersOfListeningSocket(cluster.port, [loaded, light])).toEqual([light]);

  // New connections now all go to the other worker (with no balance about half would land here).
  const next = await connectMany('after', 40);
  expect([...next.values()].map((node) => nodeOfPid.get(node))).toEqual(Array(40).fill(light));

  // Once it is back at its share (30 < the other's 40), it accepts again, on the same port.
  await closeClients(loadedIds.slice(30));
  await cluster.waitForLog((l) => l.pid === loaded && l.msg === 'worker: accepting connections again', 'the loaded worker to accept again');
  expect(holdersOfListeningSocket(cluster.port, [loaded, light]).sort()).toEqual([loaded, light].sort());
  // The port still serves (a resume that listened elsewhere would leave these unconnected).
  expect((await connectMany('later', 20)).size).toBe(20);
});

it('while the only worker told to accept is stalled (SIGSTOP), the stopped one is told to accept again', async () => {
  const [stalled, other] = cluster.pids() as [number, number];
  const nodeOfPid = new Map([...cluster.workers].map(([pid, node]) => [node, pid]));
  process.kill(stalled, 'SIGSTOP');
  try {
    // Every connection goes to `other`; past its share it is told to stop, and the connections
    // after that wait in the backlog until the primary, no longer hearing from `stalled`, lets
    // `other` accept again (about 3 s). Without that they would wait for SIGCONT.
    const placed = await connectMany('stall', 250);
    await cluster.waitForLog((l) => l.workerPid === other && l.reason === 'no other worker is heard accepting', 'other to be told to accept again');
    expect(new Set([...placed.values()].map((node) => nodeOfPid.get(node)))).toEqual(new Set([other]));
  } finally {
    process.kill(stalled, 'SIGCONT');
  }
}, 40_000);
