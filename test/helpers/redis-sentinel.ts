// A private Sentinel-managed Redis for one test file or benchmark: a master and its replicas (one by default)
// (startRedisServer: free ports, temp dirs, no persistence) watched by `sentinels` redis-sentinel
// processes on free ports (quorum 2), all killed when the test process exits. Resolves once every
// sentinel knows the master, its replica and the other sentinels, i.e. could fail it over.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { infoField, tryRedisCommand } from './redis-command.js';
import { spawnAnswering, stopChild } from './redis-process.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { waitFor } from './wait.js';

export interface RedisSentinelOptions {
  /** Default 'starling'. */
  masterName?: string;
  /** Default 3. */
  sentinels?: number;
  /** Replicas of the master. Default 1. */
  replicas?: number;
  /** down-after-milliseconds: how long a silent master takes to be subjectively down. Default 1000. */
  downAfterMs?: number;
  /** failover-timeout (a stalled failover is retried after twice this). Default 3000. */
  failoverTimeoutMs?: number;
}

export interface RedisSentinelHandle {
  masterName: string;
  sentinels: Array<{ host: string; port: number }>;
  /** "127.0.0.1:s1,127.0.0.1:s2,…": the value of a --redis-sentinel flag. */
  spec: string;
  /** The master as named (SENTINEL get-master-addr-by-name) by the sentinel with the newest configuration. */
  master(): Promise<{ host: string; port: number }>;
  /** SIGKILL the current master's process; resolves with its port. */
  killMaster(): Promise<number>;
  /**
   * Resolves when a sentinel names a master other than oldMasterPort and that server answers ROLE
   * as master; promotedAt is Date.now() at the first poll that saw that.
   */
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<{ newMasterPort: number; promotedAt: number }>;
  /**
   * Starts a killed server again on its port (empty: no persistence) and resolves once the
   * sentinels have made it a replica in sync with the current master. Slow: Sentinel waits ~8 s
   * before converting a returning old master.
   */
  restartOld(port: number, timeoutMs?: number): Promise<void>;
  /** Stops the sentinels and both servers, removes their temp dirs. */
  stop(): Promise<void>;
}

const REDIS_SENTINEL = process.env.REDIS_SENTINEL ?? '/usr/bin/redis-sentinel';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 20_000;
const POLL_MS = 25;

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const masterName = options.masterName ?? 'starling';
  const sentinelCount = options.sentinels ?? 3;
  const replicaCount = options.replicas ?? 1;
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 3000;

  const servers: RedisServerHandle[] = [];
  const sentinels: Sentinel[] = [];
  const stopAll = async () => {
    await Promise.all(sentinels.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // Replicas sync at once instead of after the default 5 s wait for more replicas.
    const noSyncDelay = ['--repl-diskless-sync-delay', '0'];
    const master = await startRedisServer({ args: noSyncDelay });
    servers.push(master);
    for (let i = 0; i < replicaCount; i++) {
      const replica = await startRedisServer({ args: ['--replicaof', HOST, String(master.port), ...noSyncDelay] });
      servers.push(replica);
      await waitFor(async () => infoField(await tryRedisCommand(replica.port, 'INFO', 'replication'), 'master_link_status') === 'up', 'the replica to sync', START_TIMEOUT_MS, POLL_MS);
    }

    const config = (port: number) =>
      [
        `port ${port}`,
        `bind ${HOST}`,
        `sentinel monitor ${masterName} ${HOST} ${master.port} 2`,
        `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
        `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n');
    for (let i = 0; i < sentinelCount; i++) sentinels.push(await startSentinel(config));
    // Sentinels find each other through hello messages on the master, published every 2 s.
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const fields = await sentinelMaster(s.port, masterName);
          if (!fields || fields.flags !== 'master' || Number(fields['num-slaves']) < replicaCount || Number(fields['num-other-sentinels']) < sentinelCount - 1) return false;
        }
        return true;
      },
      'every sentinel to know the master, its replica and the other sentinels',
      START_TIMEOUT_MS,
      POLL_MS,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }

  // Right after a failover some sentinels still name the old master: believe the one that has
  // seen the newest configuration (highest config-epoch).
  const masterAddress = async (): Promise<{ host: string; port: number } | undefined> => {
    let best: { host: string; port: number; epoch: number } | undefined;
    for (const s of sentinels) {
      const [reply, fields] = await Promise.all([tryRedisCommand(s.port, 'SENTINEL', 'get-master-addr-by-name', masterName), sentinelMaster(s.port, masterName)]);
      if (!Array.isArray(reply) || reply.length !== 2 || !fields) continue;
      const epoch = Number(fields['config-epoch'] ?? 0);
      if (!best || epoch > best.epoch) best = { host: String(reply[0]), port: Number(reply[1]), epoch };
    }
    return best && { host: best.host, port: best.port };
  };
  const serverOn = (port: number): RedisServerHandle => {
    const server = servers.find((s) => s.port === port);
    if (!server) throw new Error(`no server of this sentinel set on port ${port}`);
    return server;
  };

  return {
    masterName,
    sentinels: sentinels.map((s) => ({ host: HOST, port: s.port })),
    spec: sentinels.map((s) => `${HOST}:${s.port}`).join(','),
    master: async () => {
      const address = await masterAddress();
      if (!address) throw new Error(`no sentinel named a master for '${masterName}'`);
      return address;
    },
    killMaster: async () => {
      const address = await masterAddress();
      if (!address) throw new Error(`no sentinel named a master for '${masterName}'`);
      serverOn(address.port).kill();
      return address.port;
    },
    waitForFailover: async (oldMasterPort, timeoutMs = 30_000) => {
      let promoted: { newMasterPort: number; promotedAt: number } | undefined;
      await waitFor(
        async () => {
          for (const s of sentinels) {
            const reply = await tryRedisCommand(s.port, 'SENTINEL', 'get-master-addr-by-name', masterName);
            const port = Array.isArray(reply) ? Number(reply[1]) : oldMasterPort;
            if (port === oldMasterPort) continue;
            const role = await tryRedisCommand(port, 'ROLE');
            if (Array.isArray(role) && role[0] === 'master') {
              promoted = { newMasterPort: port, promotedAt: Date.now() };
              return true;
            }
          }
          return false;
        },
        `a sentinel to name a master other than ${oldMasterPort}`,
        timeoutMs,
        POLL_MS,
      );
      return promoted!;
    },
    restartOld: async (port, timeoutMs = 30_000) => {
      await serverOn(port).restart();
      await waitFor(
        async () => {
          const role = await tryRedisCommand(port, 'ROLE');
          return Array.isArray(role) && role[0] === 'slave' && infoField(await tryRedisCommand(port, 'INFO', 'replication'), 'master_link_status') === 'up';
        },
        `the sentinels to make ${port} a replica in sync`,
        timeoutMs,
        POLL_MS,
      );
    },
    stop: stopAll,
  };
}

interface Sentinel {
  port: number;
  stop(): Promise<void>;
}

/** A redis-sentinel on a free port with its own writable config file (Sentinel rewrites it); retries if the port was taken meanwhile. */
async function startSentinel(config: (port: number) => string): Promise<Sentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'starling-sentinel-'));
  const file = join(dir, 'sentinel.conf');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    writeFileSync(file, config(port));
    try {
      // Sentinel logs to stdout; its last lines explain a failed start.
      const child = await spawnAnswering(REDIS_SENTINEL, [file], dir, port);
      return {
        port,
        stop: async () => {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      if (attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** SENTINEL MASTER name as a field -> value record; undefined if the sentinel does not answer. */
async function sentinelMaster(port: number, name: string): Promise<Record<string, string> | undefined> {
  const reply = await tryRedisCommand(port, 'SENTINEL', 'MASTER', name);
  if (!Array.isArray(reply)) return undefined;
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fields;
}
