// A private Redis Cluster for one test file or benchmark: masters × (1 + replicasPerMaster)
// redis-servers (startRedisServer: free port, own temp dir, no persistence, killed when the test
// process exits), the 16384 slots split evenly over the masters, replicas attached round-robin.
// Resolves once every node says the cluster is ok and every replica is in sync.
// Assembled by hand (SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET, REPLICATE) for every size, because
// `redis-cli --cluster create` refuses fewer than 3 masters and the 1/2/3-shard benchmark needs them.
import { spawn } from 'node:child_process';
import { freePort } from './ports.js';
import { infoField, redisCommand, tryRedisCommand } from './redis-command.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { waitFor } from './wait.js';

export interface RedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a silent node takes to be declared failed (and replaced). Default 1000. */
  nodeTimeoutMs?: number;
}

export interface ClusterNode {
  host: string;
  port: number;
  pid: number;
}

export interface ClusterMaster {
  port: number;
  /** Inclusive [first, last] slot ranges, ascending. */
  slots: Array<[number, number]>;
}

export interface RedisClusterHandle {
  /** Every node started, masters first (in the order of their slot ranges), then the replicas. */
  nodes: ClusterNode[];
  /** Every node, for ioredis `new Cluster(seeds)`. */
  seeds: Array<{ host: string; port: number }>;
  /** "127.0.0.1:p1,127.0.0.1:p2,…": the value of a --redis-cluster flag. */
  spec: string;
  /** The current masters and their slot ranges (CLUSTER SLOTS of a live node), by port. */
  masters(): Promise<ClusterMaster[]>;
  /** The port of the master serving slot now. */
  masterOfSlot(slot: number): Promise<number>;
  /** The port of the master serving key's slot now. */
  masterOfKey(key: string): Promise<number>;
  /** SIGKILL the node's process (no waiting). */
  killNode(port: number): void;
  /**
   * Resolves when a former replica of the killed master is a master holding slots and every live
   * node reports cluster_state:ok; promotedAt is Date.now() at the first poll that saw that.
   */
  waitForPromotion(deadMasterPort: number, timeoutMs?: number): Promise<{ newMasterPort: number; promotedAt: number }>;
  /** `redis-cli --cluster reshard` of `slots` slots from one master to another; rejects with its output if it fails. */
  reshard(fromPort: number, toPort: number, slots: number): Promise<void>;
  /** Stops every node and removes their temp dirs. */
  stop(): Promise<void>;
}

const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';
const HOST = '127.0.0.1';
const SLOTS = 16384;
const START_TIMEOUT_MS = 20_000;
const POLL_MS = 25;

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  if (!Number.isInteger(masterCount) || masterCount < 1) throw new Error(`masters must be a positive integer, not ${masterCount}`);
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) throw new Error(`replicasPerMaster must be an integer >= 0, not ${replicasPerMaster}`);

  const servers: RedisServerHandle[] = [];
  const killed = new Set<number>();
  try {
    // One after another: parallel starts on 2 cores gain little, and sequential picks cannot hand
    // the same free port to two nodes (a node uses two: clients and the cluster bus).
    const usedPorts = new Set<number>();
    for (let i = 0; i < masterCount * (1 + replicasPerMaster); i++) servers.push(await startClusterNode(nodeTimeoutMs, usedPorts));
    await assemble(servers, masterCount);
    await waitFor(() => clusterReady(servers.map((s) => s.port), masterCount), 'the cluster to be ok with every replica in sync', START_TIMEOUT_MS, POLL_MS);
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }

  const livePorts = () => servers.map((s) => s.port).filter((p) => !killed.has(p));
  // Which replicas each master had when last looked at: waitForPromotion needs the dead master's
  // replicas, and once it is dead no node will say which they were.
  let replicasOf = await replicaMap(livePorts());

  const slotsTable = async (): Promise<SlotRange[]> => {
    for (const port of livePorts()) {
      const reply = await tryRedisCommand(port, 'CLUSTER', 'SLOTS');
      if (Array.isArray(reply)) return parseClusterSlots(reply);
    }
    throw new Error('no live cluster node answered CLUSTER SLOTS');
  };
  const masterOfSlot = async (slot: number): Promise<number> => {
    const range = (await slotsTable()).find((r) => r.first <= slot && slot <= r.last);
    if (!range) throw new Error(`slot ${slot} is not assigned`);
    return range.masterPort;
  };

  return {
    nodes: servers.map((s) => ({ host: HOST, port: s.port, pid: s.pid })),
    seeds: servers.map((s) => ({ host: HOST, port: s.port })),
    spec: servers.map((s) => `${HOST}:${s.port}`).join(','),
    masters: async () => {
      const byPort = new Map<number, Array<[number, number]>>();
      for (const r of await slotsTable()) {
        const list = byPort.get(r.masterPort) ?? [];
        list.push([r.first, r.last]);
        byPort.set(r.masterPort, list);
      }
      return [...byPort].map(([port, slots]) => ({ port, slots: slots.sort((a, b) => a[0] - b[0]) })).sort((a, b) => a.port - b.port);
    },
    masterOfSlot,
    masterOfKey: async (key) => {
      for (const port of livePorts()) {
        const slot = await tryRedisCommand(port, 'CLUSTER', 'KEYSLOT', key);
        if (typeof slot === 'number') return masterOfSlot(slot);
      }
      throw new Error('no live cluster node answered CLUSTER KEYSLOT');
    },
    killNode: (port) => {
      serverOn(servers, port).kill();
      killed.add(port);
    },
    waitForPromotion: async (deadMasterPort, timeoutMs = 15_000) => {
      const candidates = replicasOf.get(deadMasterPort) ?? [];
      if (candidates.length === 0) throw new Error(`port ${deadMasterPort} had no replica to promote`);
      let promoted: { newMasterPort: number; promotedAt: number } | undefined;
      await waitFor(
        async () => {
          const live = livePorts();
          const view = await clusterNodes(live[0] ?? 0);
          const newMaster = view?.find((n) => candidates.includes(n.port) && n.flags.includes('master') && !failed(n) && n.slotCount > 0);
          if (!newMaster) return false;
          for (const port of live) if (infoField(await tryRedisCommand(port, 'CLUSTER', 'INFO'), 'cluster_state') !== 'ok') return false;
          promoted = { newMasterPort: newMaster.port, promotedAt: Date.now() };
          return true;
        },
        `a replica of ${deadMasterPort} (${candidates.join(', ')}) to be promoted`,
        timeoutMs,
        POLL_MS,
      );
      replicasOf = await replicaMap(livePorts());
      return promoted!;
    },
    reshard: async (fromPort, toPort, slots) => {
      const [fromId, toId] = await Promise.all([redisCommand(fromPort, 'CLUSTER', 'MYID'), redisCommand(toPort, 'CLUSTER', 'MYID')]);
      const entry = livePorts()[0];
      await runRedisCli([
        '--cluster', 'reshard', `${HOST}:${entry}`,
        '--cluster-from', String(fromId), '--cluster-to', String(toId),
        '--cluster-slots', String(slots), '--cluster-yes',
      ]);
    },
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/** A cluster-enabled redis-server on two fresh ports (clients, cluster bus); retries when one was taken meanwhile. */
async function startClusterNode(nodeTimeoutMs: number, usedPorts: Set<number>): Promise<RedisServerHandle> {
  for (let attempt = 0; ; attempt++) {
    const port = await unusedFreePort(usedPorts);
    // Explicit bus port: the default (port + 10000) overflows 65535 for ephemeral ports above 55535.
    const busPort = await unusedFreePort(usedPorts);
    try {
      return await startRedisServer({
        port,
        args: [
          '--cluster-enabled', 'yes',
          // Relative to the server's own temp dir (its --dir).
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', String(nodeTimeoutMs),
          '--cluster-port', String(busPort),
          // A node learns its own IP only from a peer's MEET: alone (1 master) it would tell
          // clients "" in CLUSTER SLOTS, and ioredis would never connect.
          '--cluster-announce-ip', HOST,
          // Replicas sync at once instead of after the default 5 s wait for more replicas.
          '--repl-diskless-sync-delay', '0',
        ],
      });
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

async function unusedFreePort(usedPorts: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
}

/** Slots to the masters, every node introduced to the first, each replica attached to its master. */
async function assemble(servers: RedisServerHandle[], masterCount: number): Promise<void> {
  const ids = (await Promise.all(servers.map((s) => redisCommand(s.port, 'CLUSTER', 'MYID')))).map(String);
  for (let i = 0; i < masterCount; i++) {
    const port = servers[i]!.port;
    // Distinct config epochs up front, as redis-cli does: otherwise the masters start at epoch 0
    // and settle the collision among themselves, later.
    await redisCommand(port, 'CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
    await redisCommand(port, 'CLUSTER', 'ADDSLOTSRANGE', Math.floor((i * SLOTS) / masterCount), Math.floor(((i + 1) * SLOTS) / masterCount) - 1);
  }
  const first = servers[0]!;
  const firstBus = await busPortOf(first.port);
  for (const s of servers.slice(1)) await redisCommand(s.port, 'CLUSTER', 'MEET', HOST, first.port, firstBus);
  for (let r = masterCount; r < servers.length; r++) {
    const replica = servers[r]!;
    const masterId = ids[r % masterCount]!;
    // REPLICATE needs the replica to know the master, which gossip from the first node brings.
    await waitFor(async () => (await clusterNodes(replica.port))?.some((n) => n.id === masterId && !n.flags.includes('handshake')) ?? false, `node ${replica.port} to learn of its master`, START_TIMEOUT_MS, POLL_MS);
    await redisCommand(replica.port, 'CLUSTER', 'REPLICATE', masterId);
  }
}

async function busPortOf(port: number): Promise<number> {
  return Number(await redisCommand(port, 'CONFIG', 'GET', 'cluster-port').then((r) => (r as string[])[1]));
}

/** Every node: cluster ok, all slots assigned, knows every node (no handshakes); every replica's link up. */
async function clusterReady(ports: number[], masterCount: number): Promise<boolean> {
  for (const [i, port] of ports.entries()) {
    const info = await tryRedisCommand(port, 'CLUSTER', 'INFO');
    if (infoField(info, 'cluster_state') !== 'ok' || infoField(info, 'cluster_slots_assigned') !== String(SLOTS)) return false;
    const view = await clusterNodes(port);
    if (!view || view.length !== ports.length || view.some((n) => n.flags.includes('handshake') || failed(n))) return false;
    if (i >= masterCount && infoField(await tryRedisCommand(port, 'INFO', 'replication'), 'master_link_status') !== 'up') return false;
  }
  return true;
}

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  /** The master's id for a replica, '-' for a master. */
  masterId: string;
  slotCount: number;
}

/** CLUSTER NODES of the node on port, parsed; undefined if it does not answer. */
async function clusterNodes(port: number): Promise<NodeLine[] | undefined> {
  const reply = await tryRedisCommand(port, 'CLUSTER', 'NODES');
  if (typeof reply !== 'string') return undefined;
  return reply
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ');
      const slotCount = slots
        .filter((s) => !s.startsWith('['))
        .reduce((sum, s) => {
          const [a, b = a] = s.split('-').map(Number);
          return sum + (b! - a! + 1);
        }, 0);
      return { id, port: Number(address.split('@')[0]!.split(':').pop()), flags: flags.split(','), masterId, slotCount };
    });
}

function failed(node: NodeLine): boolean {
  return node.flags.includes('fail') || node.flags.includes('fail?');
}

/** master port -> ports of its replicas, from the first live node that answers. */
async function replicaMap(ports: number[]): Promise<Map<number, number[]>> {
  for (const port of ports) {
    const view = await clusterNodes(port);
    if (!view) continue;
    const portOfId = new Map(view.map((n) => [n.id, n.port]));
    const map = new Map<number, number[]>();
    for (const n of view) {
      const masterPort = portOfId.get(n.masterId);
      if (!n.flags.includes('slave') || masterPort === undefined) continue;
      map.set(masterPort, [...(map.get(masterPort) ?? []), n.port]);
    }
    return map;
  }
  throw new Error('no live cluster node answered CLUSTER NODES');
}

interface SlotRange {
  first: number;
  last: number;
  masterPort: number;
}

/** CLUSTER SLOTS: [[first, last, [ip, port, id, ...], replica...], ...]. */
function parseClusterSlots(reply: unknown[]): SlotRange[] {
  return reply.map((entry) => {
    const [first, last, master] = entry as [number, number, [string, number]];
    return { first, last, masterPort: Number(master[1]) };
  });
}

function serverOn(servers: RedisServerHandle[], port: number): RedisServerHandle {
  const server = servers.find((s) => s.port === port);
  if (!server) throw new Error(`no cluster node on port ${port}`);
  return server;
}

/** Runs redis-cli to completion; rejects with its output unless it exits 0. */
function runRedisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve();
      // redis-cli --cluster prints its [ERR] lines on stdout: keep the tail of that too.
      reject(new Error(`redis-cli ${args.slice(0, 3).join(' ')} exited ${code ?? signal}: ${stderr.trim()} ${stdout.trim().split('\n').slice(-5).join(' | ')}`.trim()));
    });
  });
}
