// The primary: forks N workers that share one listening port (node:cluster hands the socket
// to every worker), keeps N alive, and shuts them down in order.
//
// - Port: workers listen on the configured port; with port 0 the first listen picks a free
//   port and node:cluster gives every later listen(0), replacements included, the same one.
//   The primary logs the real port in its "listening" line once every worker is ready.
// - A worker that dies is logged and replaced at once; a live worker (or, when none is left,
//   the replacement once ready) is told to recover the dead node: publish its clients' wills,
//   deliver its limbo, drop its routes. Recovery claims the node atomically in Redis, so the
//   heartbeat-expiry path on other hosts cannot do it a second time.
// - Accepting: workers accept from the shared socket themselves (cluster.SCHED_NONE) unless
//   NODE_CLUSTER_SCHED_POLICY says otherwise. Node's default, round robin, accepts every
//   connection here and passes it to a worker over IPC, which halved the cluster's connection
//   rate (docs/scaling.md). The kernel's choice of worker can be uneven, so AcceptBalance stops
//   a worker with more than its share from accepting until the others catch up.
// - SIGTERM/SIGINT: every worker is told to shut down (stop accepting, close clients, flush,
//   exit 0); the primary exits 0 when they are gone, or kills stragglers after a bound.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AcceptBalance, type AcceptCommand } from './accept-balance.js';
import { isStarlingMessage, type PrimaryToWorker, type WorkerToPrimary } from './messages.js';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** How long workers get to close their clients before they are killed. */
  shutdownTimeoutMs?: number;
}

interface WorkerState {
  nodeId: string | null;
  port: number | null;
  /** The one worker of this primary that publishes $SYS (cluster-wide sums); its replacement inherits it. */
  sysPublisher: boolean;
}

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

  constructor(private readonly options: PrimaryOptions) {
    this.log = options.logger;
  }

  start(): void {
    // Set before the first fork, which fixes the policy; an explicit environment choice wins.
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.on('message', (worker, message: unknown) => {
      if (!isStarlingMessage<WorkerToPrimary>(message) || !this.states.has(worker)) return;
      if (message.starling === 'ready') this.onReady(worker, message.nodeId, message.port);
      else if (message.starling === 'load' && !this.stopping) this.ask(this.balance.report(worker, message.connections, message.accepting));
    });
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    // Notices a worker that stopped reporting (stalled) while the others were told to stop accepting.
    setInterval(() => this.stopping || this.ask(this.balance.tick()), 1000).unref();
    for (let i = 0; i < this.options.workers; i++) this.fork(i === 0);
    process.on('SIGTERM', () => void this.shutdown('SIGTERM'));
    process.on('SIGINT', () => void this.shutdown('SIGINT'));
    this.log.info({ workers: this.options.workers }, 'primary: forking workers');
  }

  /** Live workers' pids (tests kill them). */
  pids(): number[] {
    return [...this.states.keys()].map((w) => w.process.pid ?? 0);
  }

  private fork(sysPublisher: boolean): void {
    const worker = cluster.fork(sysPublisher ? { [SYS_PUBLISHER_ENV]: '1' } : {});
    this.states.set(worker, { nodeId: null, port: null, sysPublisher });
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
      // Died while starting: retry with backoff (a running worker's replacement is immediate).
      const delayMs = Math.min(250 * 2 ** this.failedStarts++, 10_000);
      this.log.error({ workerPid: worker.process.pid, code, signal, delayMs }, 'primary: worker died while starting; forking again after a delay');
      setTimeout(() => this.stopping || this.fork(sysPublisher), delayMs);
      return;
    }
    this.log.error({ workerPid: worker.process.pid, nodeId, code, signal }, 'primary: worker died; forking a replacement');
    this.fork(sysPublisher);
    if (RECOVER_DELAY_MS > 0) setTimeout(() => this.stopping || this.askRecovery(nodeId), RECOVER_DELAY_MS);
    else this.askRecovery(nodeId);
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

  private async shutdown(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const timeoutMs = this.options.shutdownTimeoutMs ?? 10_000;
    this.log.info({ signal, workers: this.states.size }, 'primary: shutting down workers');
    const workers = [...this.states.keys()];
    const exited = Promise.all(workers.map((w) => (w.isDead() ? Promise.resolve() : new Promise<void>((resolve) => w.once('exit', () => resolve())))));
    for (const worker of workers) this.send(worker, { starling: 'shutdown' });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
    if (timedOut) this.log.warn({ timeoutMs }, 'primary: some workers did not stop in time and were killed');
    this.log.info('primary: stopped');
    process.exit(0);
  }
}
