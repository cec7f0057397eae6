// Runs a bench: forks the worker processes, walks them through connect -> publish -> drain -> report,
// shows a live progress line, and merges their counters and histograms into one summary.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { BenchOptions } from './options.js';
import { buildLayout, splitAmongWorkers } from './layout.js';
import type { FromWorker, ToWorker, WorkerCounters } from './ipc.js';
import { emptyCounters } from './ipc.js';
import { mergeInto, newHistogram, summarize } from './histogram.js';
import { brokerRssBytes } from './broker-rss.js';
import { wallClockMs } from './header.js';
import { configOf, sumCounters, type BenchSummary } from './summary.js';
import { ProgressLine } from './progress.js';

const SWARM_LIMIT_PERCENT = 90;

interface WorkerHandle {
  child: ChildProcess;
  counters: WorkerCounters;
  connected: boolean;
  stopped: boolean;
  final?: Extract<FromWorker, { type: 'final' }>;
  exited: boolean;
}

/** Under tsx/vitest this module is .ts: fork the .ts worker through tsx; from dist/ fork the .js. */
function workerEntry(): { path: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return { path: fileURLToPath(new URL('./worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
  return { path: fileURLToPath(new URL('./worker.js', import.meta.url)), execArgv: [] };
}

export interface RunHooks {
  /** Resolves when the run should stop early (SIGINT). */
  interrupt: Promise<void>;
  progress: boolean;
  /** Phase changes, one short line each (the CLI writes them to stderr). */
  status?: (line: string) => void;
}

export async function runBench(opts: BenchOptions, hooks: RunHooks): Promise<BenchSummary> {
  const runId = randomBytes(4).toString('hex');
  const specs = buildLayout(opts, runId);
  const shares = splitAmongWorkers(specs, Math.min(opts.workers, specs.length));
  const entry = workerEntry();
  let interrupted = false;
  void hooks.interrupt.then(() => { interrupted = true; });
  const isInterrupted = (): boolean => interrupted;
  const warnings: string[] = [];

  const rssBefore = opts.brokerPid !== undefined ? brokerRssBytes(opts.brokerPid) : undefined;
  if (opts.brokerPid !== undefined && rssBefore === undefined) warnings.push(`--broker-pid ${opts.brokerPid.join(',')}: no such process; RSS not measured`);

  const workers: WorkerHandle[] = shares.map(() => {
    const child = fork(entry.path, [], { execArgv: entry.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle: WorkerHandle = { child, counters: emptyCounters(), connected: false, stopped: false, exited: false };
    child.on('message', (msg: FromWorker) => {
      handle.counters = msg.counters;
      if (msg.type === 'connected') handle.connected = true;
      if (msg.type === 'stopped') handle.stopped = true;
      if (msg.type === 'final') handle.final = msg;
    });
    child.on('exit', () => { handle.exited = true; });
    child.on('error', () => { handle.exited = true; });
    return handle;
  });
  const send = (msg: ToWorker): void => { for (const w of workers) if (!w.exited && w.child.connected) w.child.send(msg); };
  const total = (): WorkerCounters => sumCounters(workers.map((w) => w.counters));
  const progress = hooks.progress ? new ProgressLine(specs.length, total) : undefined;
  const myCpu0 = process.cpuUsage();
  let myCpuStart = myCpu0;
  let windowStart = performance.now();

  try {
    progress?.start();
    const rampPerWorker = opts.ramp > 0 ? opts.ramp / workers.length : 0;
    workers.forEach((w, i) => w.child.send({ type: 'init', opts, clients: shares[i]!, rampPerSec: rampPerWorker } satisfies ToWorker));
    const connectBudgetMs = (opts.connectTimeoutSec + 5) * 1000 + (opts.ramp > 0 ? (specs.length / opts.ramp) * 1000 : 0);
    if (!(await until(() => workers.every((w) => w.connected || w.exited), connectBudgetMs, isInterrupted)) && !interrupted) {
      warnings.push('connect phase did not finish in time; continuing with the clients that connected');
    }
    let windowEnd = performance.now();
    let myCpu = process.cpuUsage(myCpuStart);
    let rssAfter: number | undefined;
    let publishSeconds = 0;
    let publishStartWallMs = 0;

    const connectedNow = total().connectOk;
    if (!interrupted && opts.publishers > 0) {
      hooks.status?.(`connected ${connectedNow}/${specs.length}; publishing for ${opts.durationSec} s`);
      send({ type: 'start' });
      publishStartWallMs = wallClockMs();
      myCpuStart = process.cpuUsage();
      windowStart = performance.now();
      await until(() => false, opts.durationSec * 1000, isInterrupted);
      send({ type: 'stop' });
      windowEnd = performance.now();
      myCpu = process.cpuUsage(myCpuStart);
      publishSeconds = (windowEnd - windowStart) / 1000;
      hooks.status?.(`publishing stopped; draining for up to ${opts.drainSec} s`);
      // Drain: wait for late messages until everything expected has arrived or the grace period ends.
      const drained = (): boolean => {
        if (!workers.every((w) => w.stopped || w.exited)) return false;
        const t = total();
        return t.outstanding === 0 && t.received >= t.expected;
      };
      await until(drained, opts.drainSec * 1000);
    } else if (!interrupted) {
      hooks.status?.(`connected ${connectedNow}/${specs.length}; holding for ${opts.durationSec} s`);
      if (opts.brokerPid !== undefined) rssAfter = brokerRssBytes(opts.brokerPid);
      await until(() => false, opts.durationSec * 1000, isInterrupted);
    }
    if (opts.brokerPid !== undefined) {
      const now = brokerRssBytes(opts.brokerPid);
      if (now !== undefined) rssAfter = Math.max(rssAfter ?? 0, now);
    }

    send({ type: 'report' });
    await until(() => workers.every((w) => w.final !== undefined || w.exited), 10_000);
    progress?.stop();

    const latency = newHistogram();
    const connectLatency = newHistogram();
    const windowMs = Math.max(1, windowEnd - windowStart);
    // CPU in core-units: each process's CPU time over its own measured window (a busy worker
    // sees 'stop' late, so its window is longer than the coordinator's).
    let coresUsed = (myCpu.user + myCpu.system) / 1000 / windowMs;
    for (const w of workers) {
      if (!w.final) { warnings.push(`worker ${w.child.pid} sent no final report; its last progress counts are used`); continue; }
      mergeInto(latency, w.final.latency);
      mergeInto(connectLatency, w.final.connectLatency);
      coresUsed += w.final.cpuUs / 1000 / Math.max(1, w.final.cpuWindowMs);
    }
    const t = sumCounters(workers.map((w) => w.final?.counters ?? w.counters));
    const cores = availableParallelism();
    const cpuPercentOfCores = (coresUsed / cores) * 100;
    const deliverSeconds = t.lastReceiveMs > publishStartWallMs && publishStartWallMs > 0 ? Math.max(publishSeconds, (t.lastReceiveMs - publishStartWallMs) / 1000) : publishSeconds;
    if (t.errorCodes['EMFILE']) warnings.push(`EMFILE: ${t.errorCodes['EMFILE']} connections failed with "too many open files"; raise the limit (ulimit -n, now per process) or use more --workers`);
    const attempted = t.connectOk + t.connectFailed;
    const connectSpanSec = (t.lastConnectDoneMs - t.firstConnectStartMs) / 1000;
    return {
      url: opts.url, recipe: opts.recipe ?? null, interrupted, config: configOf(opts, workers.length),
      connections: {
        attempted: specs.length, succeeded: t.connectOk, failed: specs.length - t.connectOk, successRate: specs.length ? t.connectOk / specs.length : 0,
        dropped: t.dropped, ratePerSec: connectSpanSec > 0 ? t.connectOk / connectSpanSec : 0, latency: summarize(connectLatency),
      },
      messages: { qos: opts.qos, sent: t.sent, expected: t.expected, received: t.received, lost: Math.max(0, t.expected - t.received), duplicated: t.duplicates, unexpected: t.unexpected },
      throughput: { publishSeconds, deliverSeconds, sentPerSec: publishSeconds > 0 ? t.sent / publishSeconds : 0, receivedPerSec: deliverSeconds > 0 ? t.received / deliverSeconds : 0 },
      latency: summarize(latency),
      errors: t.errorCodes,
      swarm: { workers: workers.length, cores, cpuPercentOfCores, limited: cpuPercentOfCores >= SWARM_LIMIT_PERCENT },
      broker: opts.brokerPid !== undefined && rssBefore !== undefined && rssAfter !== undefined
        ? { pid: opts.brokerPid[0]!, pids: opts.brokerPid, rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter, rssPerConnectionBytes: t.connectOk > 0 ? (rssAfter - rssBefore) / t.connectOk : 0 }
        : null,
      warnings: attempted < specs.length ? [...warnings, `${specs.length - attempted} clients never attempted to connect (interrupted during ramp-up)`] : warnings,
    };
  } finally {
    progress?.stop();
    send({ type: 'exit' });
    await until(() => workers.every((w) => w.exited), 5000);
    for (const w of workers) if (!w.exited) w.child.kill('SIGKILL');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls until the condition holds, `stop()` turns true or the timeout passes; returns whether the
 * condition held. No timer outlives it, so a finished run leaves nothing keeping the process alive.
 */
async function until(cond: () => boolean, timeoutMs: number, stop: () => boolean = () => false): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (stop() || performance.now() >= deadline) return false;
    await sleep(Math.min(20, Math.max(1, deadline - performance.now())));
  }
}
