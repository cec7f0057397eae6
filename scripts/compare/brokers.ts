// Starting each broker under comparison fresh, pinned to CPU 0 (broker, its workers and its redis).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, canConnect } from '../../test/helpers/ports.js';
export { freePort };

export type BrokerName = 'starling' | 'starling-cluster' | 'starling-cluster-1' | 'starling-cluster-noflow' | 'starling-cluster-rr' | 'starling-before' | 'starling-cluster-before' | 'starling-acl' | 'starling-hook' | 'starling-hook-sync' | 'starling-hook-publish' | 'aedes' | 'aedes-cluster' | 'mosquitto';
/**
 * starling-cluster-1: the cluster with one worker (Redis-backed, no cross-worker traffic).
 * starling-cluster-noflow: the 2-worker cluster without flow control on the bus (--bus-window 0), for A/B runs.
 * starling-cluster-rr: the 2-worker cluster with node:cluster's round robin (the primary accepts), for A/B runs.
 * starling-before, starling-cluster-before: the same, built from another checkout (STARLING_BEFORE_ROOT, e.g. a
 *   `git worktree` of an older commit with its dist/ built), for before/after runs side by side.
 * starling-acl: the single process with an --acl-file of 1,000 rules, the one granting the bench's
 *   topics last (issue #13: the cost of an ACL on the hot path).
 * starling-hook: the single process with a plugin whose authorizePublish, authorizeSubscribe and
 *   authorizeDelivery answer through promises (compare/async-authorize-plugin.mjs; issue #13).
 * starling-hook-sync: the same decisions answered synchronously (compare/sync-authorize-plugin.mjs).
 * starling-hook-publish: only authorizePublish/authorizeSubscribe, async (compare/async-publish-plugin.mjs).
 */
export const BROKER_NAMES: BrokerName[] = ['starling', 'starling-cluster', 'starling-cluster-1', 'starling-cluster-noflow', 'starling-cluster-rr', 'starling-before', 'starling-cluster-before', 'starling-acl', 'starling-hook', 'starling-hook-sync', 'starling-hook-publish', 'aedes', 'aedes-cluster', 'mosquitto'];

/** How the swarm reaches a broker: plain MQTT, TLS, WebSocket, WebSocket over TLS. */
export type Transport = 'mqtt' | 'mqtts' | 'ws' | 'wss';
export const TRANSPORTS: Transport[] = ['mqtt', 'mqtts', 'ws', 'wss'];
/** A certificate (and its key) every broker serves mqtts and wss with (compare makes a test one). */
export interface TlsFiles { cert: string; key: string }

/**
 * pids: the broker's own process first, then any redis-server it runs on (for RSS and CPU).
 * ports: where each transport listens (mqtt always; the others when started with TLS files).
 */
export interface RunningBroker { name: BrokerName; port: number; ports: Partial<Record<Transport, number>>; pid: number; pids: number[]; stop(): Promise<void> }

const ROOT = new URL('../../', import.meta.url).pathname;
export const BROKER_CPU = '0';



/** Whether brokers (and their redis) are pinned to BROKER_CPU; compare --unpinned turns it off. */
let pinned = true;
export function setPinned(value: boolean): void {
  pinned = value;
}

/** Spawns `taskset -c 0 cmd...` (taskset execs, so the pid is the program's) and waits until it is ready. */
async function startPinned(cmd: string, args: string[], port: number, readyText: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = ROOT): Promise<ChildProcess> {
  const child = pinned ? spawn('taskset', ['-c', BROKER_CPU, cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  child.once('exit', () => { exited = true; });
  const deadline = Date.now() + 20_000;
  while (!((readyText === undefined || output.includes(readyText)) && (await canConnect(port)))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} ${args.join(' ')} did not become ready on port ${port}:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  // No pub/sub output limit, as docs/scaling.md advises: a flooded node is not cut off.
  const child = await startPinned('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--client-output-buffer-limit', 'pubsub 0 0 0'], port, undefined);
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** The URL the swarm connects to for a transport (WebSocket on the path /mqtt, as every broker here serves it). */
export function transportUrl(broker: RunningBroker, transport: Transport): string {
  const port = broker.ports[transport];
  if (port === undefined) throw new Error(`${broker.name} was started without a ${transport} listener`);
  return transport === 'ws' || transport === 'wss' ? `${transport}://127.0.0.1:${port}/mqtt` : `${transport}://127.0.0.1:${port}`;
}

/** Waits until every extra listener accepts (the readiness check watched the main port only). */
async function waitForPorts(ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const p of ports) {
    while (!(await canConnect(p))) {
      if (Date.now() > deadline) throw new Error(`port ${p} never accepted`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Starts a broker; with `tls`, it also listens for mqtts, ws (/mqtt) and wss (/mqtt) on ports of its own. */
export async function startBroker(name: BrokerName, tls?: TlsFiles): Promise<RunningBroker> {
  const port = await freePort();
  const ports: Partial<Record<Transport, number>> = { mqtt: port };
  if (tls !== undefined) {
    if (name.endsWith('-before')) throw new Error(`${name}: an older checkout may not have TLS/WebSocket listeners; compare transports with the current one`);
    ports.mqtts = await freePort();
    ports.ws = await freePort();
    ports.wss = await freePort();
  }
  const extra: ChildProcess[] = [];
  let child: ChildProcess;
  let cleanup = (): void => {};
  switch (name) {
    case 'starling':
    case 'starling-cluster':
    case 'starling-cluster-1':
    case 'starling-cluster-noflow':
    case 'starling-cluster-rr':
    case 'starling-before':
    case 'starling-cluster-before':
    case 'starling-acl':
    case 'starling-hook':
    case 'starling-hook-sync':
    case 'starling-hook-publish': {
      const before = name.endsWith('-before');
      const root = before ? process.env.STARLING_BEFORE_ROOT : ROOT;
      if (root === undefined) throw new Error(`${name}: set STARLING_BEFORE_ROOT to the checkout to compare with`);
      if (!existsSync(join(root, 'dist/main.js'))) throw new Error(`${root}dist/main.js is missing: run \`npx tsc -p tsconfig.build.json\` there first`);
      const args = ['bin/starling.js', '--host', '127.0.0.1', '--port', String(port)];
      if (name !== 'starling' && name !== 'starling-before' && name !== 'starling-acl' && !name.startsWith('starling-hook')) {
        const redis = await startRedis();
        extra.push(redis.child);
        args.push('--workers', name === 'starling-cluster-1' ? '1' : '2', '--redis', redis.url);
      }
      if (name === 'starling-acl') {
        const dir = mkdtempSync(join(tmpdir(), 'compare-acl-'));
        const acl = join(dir, 'acl');
        // Anonymous rules (the swarm sends no username): 999 that never match, then the bench's.
        const rules = Array.from({ length: 999 }, (_, i) => `topic readwrite other/${i}/#`);
        writeFileSync(acl, `${rules.join('\n')}\ntopic readwrite starling-bench/#\n`);
        args.push('--acl-file', acl);
        cleanup = () => rmSync(dir, { recursive: true, force: true });
      }
      if (tls !== undefined) {
        args.push('--listeners', `mqtts://127.0.0.1:${ports.mqtts},ws://127.0.0.1:${ports.ws}/mqtt,wss://127.0.0.1:${ports.wss}/mqtt`, '--tls-cert', tls.cert, '--tls-key', tls.key);
      }
      if (name === 'starling-hook') args.push('--plugins', join(ROOT, 'scripts/compare/async-authorize-plugin.mjs'));
      if (name === 'starling-hook-sync') args.push('--plugins', join(ROOT, 'scripts/compare/sync-authorize-plugin.mjs'));
      if (name === 'starling-hook-publish') args.push('--plugins', join(ROOT, 'scripts/compare/async-publish-plugin.mjs'));
      const env = name === 'starling-cluster-noflow' ? { ...process.env, STARLING_BUS_WINDOW: '0' } : name === 'starling-cluster-rr' ? { ...process.env, NODE_CLUSTER_SCHED_POLICY: 'rr' } : process.env;
      child = await startPinned(process.execPath, args, port, 'listening', env, root);
      break;
    }
    case 'aedes':
    case 'aedes-cluster': {
      const args = ['--import', 'tsx', 'scripts/aedes-server.ts', '--port', String(port)];
      if (name === 'aedes-cluster') {
        const redis = await startRedis();
        extra.push(redis.child);
        args.push('--workers', '2', '--redis', redis.url);
      }
      if (tls !== undefined) args.push('--tls-port', String(ports.mqtts), '--ws-port', String(ports.ws), '--wss-port', String(ports.wss), '--cert', tls.cert, '--key', tls.key);
      child = await startPinned(process.execPath, args, port, 'listening');
      break;
    }
    case 'mosquitto': {
      const dir = mkdtempSync(join(tmpdir(), 'compare-mosq-'));
      const conf = join(dir, 'mosquitto.conf');
      let listeners = `listener ${port} 127.0.0.1\nallow_anonymous true\n`;
      if (tls !== undefined) {
        // Mosquitto 2's per-listener settings; it reads the key as user mosquitto (the files must be readable).
        const files = `certfile ${tls.cert}\nkeyfile ${tls.key}\n`;
        listeners += `listener ${ports.mqtts} 127.0.0.1\n${files}listener ${ports.ws} 127.0.0.1\nprotocol websockets\nlistener ${ports.wss} 127.0.0.1\nprotocol websockets\n${files}`;
      }
      writeFileSync(conf, listeners);
      child = await startPinned('/usr/sbin/mosquitto', ['-c', conf], port, undefined);
      cleanup = () => rmSync(dir, { recursive: true, force: true });
      break;
    }
  }
  await waitForPorts(Object.values(ports).filter((p) => p !== port));
  return {
    name, port, ports, pid: child.pid!, pids: [child.pid!, ...extra.map((e) => e.pid!)],
    stop: async () => {
      await stopChild(child);
      for (const e of extra) await stopChild(e);
      cleanup();
    },
  };
}
