// The primary: forks N workers that share one listening port (node:cluster hands the socket
// to every worker), keeps N alive, and shuts them down in order.
//
// - Port: workers listen on the configured port; with port 0 the first listen picks a free
//   port and node:cluster gives every later listen(0), replacements included, the same one.
//   The primary logs the real port in its "listening" line once every worker is ready.
// - Start-up failures: a worker that cannot start reports why (start-failed) and exits 1. If the
//   reason is fatal (Redis unreachable within --redis-timeout, the port taken or not allowed)
//   and no worker is serving, the primary logs one fatal line and exits 1. Otherwise the worker
//   is forked again after 250 ms, doubling to 10 s, and after MAX_FAILED_STARTS failed starts in
//   a row the primary gives up the same way: a broken setup never spins.
// - A worker that dies is logged and replaced at once; a live worker (or, when none is left,
//   the replacement once ready) is told to recover the dead node: publish its clients' wills,
//   deliver its limbo, drop its routes. Recovery claims the node atomically in Redis, so the
//   heartbeat-expiry path on other hosts cannot do it a second time.
// - Accepting: workers accept from the shared socket themselves (cluster.SCHED_NONE) unless
//   NODE_CLUSTER_SCHED_POLICY says otherwise. Node's default, round robin, accepts every
//   connection here and passes it to a worker over IPC, which halved the cluster's connection
//   rate (docs/scaling.md). The kernel's choice of worker can be uneven, so AcceptBalance stops
//   a worker with more than its share from accepting until the others catch up.
// - SIGHUP: the primary reads the config again (a bad --config file: one error line, no config
//   change) and sends it with 'reload' to every ready worker, which applies the live keys, logs
//   those needing a restart, and re-reads --password-file and --acl-file (each logs the outcome);
//   a worker forked later reads the files as they are then.
// - SIGTERM/SIGINT: every worker is told to shut down (stop accepting, close clients, flush,
//   exit 0); the primary exits 0 when they are gone, or kills stragglers after a bound.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { parseAddress } from '../config.js';
import { describeTarget, type RedisTarget } from '../store/redis/target.js';
import { AcceptBalance, type AcceptCommand } from './accept-balance.js';
import { isStarlingMessage, type PrimaryToWorker, type Reread, type WorkerToPrimary } from './messages.js';
import { ClusterManagement } from './management.js';
import { listenManagement } from '../ops/http-server.js';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** For the "waiting for Redis" line (the workers connect; the primary never does). */
  redisTarget?: RedisTarget;
  redisTimeoutMs?: number;
  /** How long workers get to close their clients before they are killed. */
  shutdownTimeoutMs?: number;
  /** --http: the management listener ([host:]port) this primary serves for all its workers. */
  http?: string | undefined;
  /** SIGHUP: the config read again, sent to the workers (none: they only re-read the password file and ACL). */
  reread?: Reread;
}

interface WorkerState {
  nodeId: string | null;
  port: number | null;
  /** The one worker of this primary that publishes $SYS (cluster-wide sums); its replacement inherits it. */
  sysPublisher: boolean;
  /** Why it could not start, as it reported before exiting (start-failed). */
  startFailure: string | null;
}

/** Workers that died while starting, in a row, after which the primary gives up (exit 1). */
export const MAX_FAILED_STARTS = 5;
/** Backoff before re-forking a worker that died while starting: 250 ms, doubling, at most 10 s. */
const START_BACKOFF_MS = 250;
const MAX_START_BACKOFF_MS = 10_000;

/** Set in the environment of the worker that publishes $SYS. */
export const SYS_PUBLISHER_ENV = 'STARLING_SYS_PUBLISHER';
/**
 * STARLING_RECOVER_DELAY_MS: how long the primary waits before telling a worker to recover a dead
 * one (default 0). Tests set it to widen the window in which a client reconnects before its dead
 * node is recovered, as a vanished host's clients always can (heartbeat expiry takes seconds).
 */
const RECOVER_DELAY_MS = Number(process.env.STARLING_RECOVER_DELAY_MS ?? 0) || 0;

export class Primary {
  private readonly states = new Map<Worker, WorkerState>();
  private readonly pendingRecoveries: string[] = [];
  private stopping = false;
  /** Workers that died before becoming ready, in a row: re-forks back off so a broken setup (port taken, Redis unreachable) does not spin. */
  private failedStarts = 0;
  private announced = false;
  private readonly log: Logger;
  private readonly balance = new AcceptBalance<Worker>();
  /** --http: /metrics and /readyz answered by asking the listening workers. */
  private readonly management = new ClusterManagement(
    () => [...this.states].filter(([, s]) => s.nodeId !== null).map(([w]) => w),
    () => (this.stopping ? 'shutting down' : null),
  );

  constructor(private readonly options: PrimaryOptions) {
    this.log = options.logger;
  }

  start(): void {
    // Set before the first fork, which fixes the policy; an explicit environment choice wins.
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.on('message', (worker, message: unknown) => {
      if (!isStarlingMessage<WorkerToPrimary>(message) || !this.states.has(worker)) return;
      if (message.starling === 'ready') this.onReady(worker, message.nodeId, message.port);
      else if (message.starling === 'start-failed') this.onStartFailed(worker, message.reason, message.fatal);
      else if (message.starling === 'load' && !this.stopping) this.ask(this.balance.report(worker, message.connections, message.accepting));
      else if (message.starling === 'probe-reply') this.management.reply(worker, message);
    });
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    // Notices a worker that stopped reporting (stalled) while the others were told to stop accepting.
    setInterval(() => this.stopping || this.ask(this.balance.tick()), 1000).unref();
    for (let i = 0; i < this.options.workers; i++) this.fork(i === 0);
    process.on('SIGTERM', () => void this.shutdown('SIGTERM', 0));
    process.on('SIGINT', () => void this.shutdown('SIGINT', 0));
    process.on('SIGHUP', () => this.reload());
    this.log.info({ workers: this.options.workers }, 'primary: forking workers');
    if (this.options.http !== undefined) void this.listenHttp(this.options.http);
    if (this.options.redisTarget !== undefined) {
      this.log.info({ timeoutMs: this.options.redisTimeoutMs }, `waiting for Redis at ${describeTarget(this.options.redisTarget)}`);
    }
  }

  /** The management listener; one that cannot listen ends the start like a taken MQTT port. */
  private async listenHttp(address: string): Promise<void> {
    const { host, port } = parseAddress(address, '--http');
    try {
      const server = await listenManagement(host, port, this.management);
      this.log.info({ host, port: server.port }, `http: /metrics, /healthz, /readyz on ${host}:${server.port}`);
    } catch (err) {
      this.giveUp(`cannot listen on --http ${address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  /** Live workers' pids (tests kill them). */
  pids(): number[] {
    return [...this.states.keys()].map((w) => w.process.pid ?? 0);
  }

  private fork(sysPublisher: boolean): void {
    const worker = cluster.fork(sysPublisher ? { [SYS_PUBLISHER_ENV]: '1' } : {});
    this.states.set(worker, { nodeId: null, port: null, sysPublisher, startFailure: null });
  }

  private onReady(worker: Worker, nodeId: string, port: number): void {
    const state = this.states.get(worker);
    if (state === undefined) return;
    state.nodeId = nodeId;
    state.port = port;
    this.failedStarts = 0;
    this.log.info({ workerPid: worker.process.pid, nodeId, port }, 'primary: worker ready');
    // Recoveries that found no live worker go to the first one ready.
    for (const dead of this.pendingRecoveries.splice(0)) this.send(worker, { starling: 'recover', nodeId: dead });
    if (!this.announced && [...this.states.values()].every((s) => s.port !== null)) {
      this.announced = true;
      this.log.info({ port, workers: this.states.size, workerPids: this.pids() }, `listening on port ${port} with ${this.states.size} workers`);
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const state = this.states.get(worker);
    this.states.delete(worker);
    if (this.stopping) return;
    this.ask(this.balance.remove(worker));
    const nodeId = state?.nodeId ?? null;
    const sysPublisher = state?.sysPublisher === true;
    if (nodeId === null) {
      // Died while starting: retry with backoff (a running worker's replacement is immediate),
      // and give up after MAX_FAILED_STARTS in a row: a broken setup must not spin for ever.
      const reason = state?.startFailure ?? `exit code ${code}${signal !== null ? `, signal ${signal}` : ''}`;
      const failed = ++this.failedStarts;
      if (failed >= MAX_FAILED_STARTS) return this.giveUp(`${failed} workers in a row died while starting, the last: ${reason}`);
      const delayMs = Math.min(START_BACKOFF_MS * 2 ** (failed - 1), MAX_START_BACKOFF_MS);
      this.log.error({ workerPid: worker.process.pid, code, signal, delayMs, failedStarts: failed }, `primary: worker died while starting (${reason}); forking again in ${delayMs} ms`);
      setTimeout(() => this.stopping || this.fork(sysPublisher), delayMs);
      return;
    }
    this.log.error({ workerPid: worker.process.pid, nodeId, code, signal }, 'primary: worker died; forking a replacement');
    this.fork(sysPublisher);
    if (RECOVER_DELAY_MS > 0) setTimeout(() => this.stopping || this.askRecovery(nodeId), RECOVER_DELAY_MS);
    else this.askRecovery(nodeId);
  }

  /**
   * A worker could not start and is about to exit 1. A fatal reason (Redis unreachable, port
   * unusable) while no worker serves ends the cluster at once: every replacement would fail
   * the same way. With workers serving (a replacement during an outage), its exit counts as a
   * failed start like any other.
   */
  private onStartFailed(worker: Worker, reason: string, fatal: boolean): void {
    const state = this.states.get(worker);
    if (state === undefined || this.stopping) return;
    state.startFailure = reason;
    if (fatal && ![...this.states.values()].some((s) => s.nodeId !== null)) this.giveUp(reason);
  }

  /** One fatal line, the workers stopped, exit 1. */
  private giveUp(reason: string): void {
    if (this.stopping) return;
    this.log.fatal(`primary: ${reason}; giving up`);
    void this.shutdown('fatal', 1);
  }

  private reload(): void {
    if (this.stopping) return;
    const config = this.options.reread?.(this.log) ?? undefined;
    if (config !== undefined) this.log.level = config.logLevel;
    this.log.info({ workers: this.states.size, configRead: config !== undefined }, 'primary: SIGHUP, workers told to reload');
    for (const [worker, state] of this.states) if (state.nodeId !== null) this.send(worker, { starling: 'reload', ...(config !== undefined ? { config } : {}) });
  }

  private askRecovery(nodeId: string): void {
    const rescuer = [...this.states].find(([, s]) => s.nodeId !== null)?.[0];
    if (rescuer !== undefined) this.send(rescuer, { starling: 'recover', nodeId });
    else this.pendingRecoveries.push(nodeId);
  }


  private ask(commands: AcceptCommand<Worker>[]): void {
    for (const [worker, accept, reason] of commands) {
      this.log.info({ workerPid: worker.process.pid, reason }, accept ? 'primary: worker told to accept connections again' : 'primary: worker told to stop accepting connections until the others catch up');
      this.send(worker, { starling: 'accept', accept });
    }
  }

  private send(worker: Worker, message: PrimaryToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  private async shutdown(signal: string, exitCode: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const timeoutMs = this.options.shutdownTimeoutMs ?? 10_000;
    if (exitCode === 0) this.log.info({ signal, workers: this.states.size }, 'primary: shutting down workers');
    const workers = [...this.states.keys()];
    const exited = Promise.all(workers.map((w) => (w.isDead() ? Promise.resolve() : new Promise<void>((resolve) => w.once('exit', () => resolve())))));
    for (const worker of workers) {
      // A worker still starting (waiting for Redis) has no clients and no shutdown handler yet.
      if (this.states.get(worker)?.nodeId === null) {
        if (!worker.isDead()) worker.process.kill('SIGTERM');
      } else this.send(worker, { starling: 'shutdown' });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
    if (timedOut) this.log.warn({ timeoutMs }, 'primary: some workers did not stop in time and were killed');
    if (exitCode === 0) this.log.info('primary: stopped');
    process.exit(exitCode);
  }
}
