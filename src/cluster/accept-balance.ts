// Keeps connections spread over the workers when the kernel, not the primary, picks the worker
// that accepts each one (Starling's default, cluster.SCHED_NONE: see primary.ts). Workers report
// their open connections; a worker holding more than its share by the slack is told to stop
// accepting, and to start again once it is back at the mean. So a worker that the kernel favours
// cannot run away with the connections, and a replacement for a dead worker gets the reconnecting
// clients until it has caught up (round robin would split them evenly and leave it behind).
//
// At least one worker always accepts: a worker is only told to stop while another one that has
// confirmed it accepts stays accepting. Otherwise node:cluster would close the shared socket.
// Workers report at least every second; one silent for staleMs (its event loop stalled, or
// SIGSTOP) does not count as accepting, so the stopped ones are told to accept again rather than
// leave new connections waiting in the backlog for it.

/** What the primary knows of one worker: its last report, and what it last asked of it. */
interface WorkerLoad {
  connections: number;
  /** As last reported by the worker. */
  accepting: boolean;
  /** What the primary last asked (a worker starts out accepting). */
  wanted: boolean;
  /** When its last report came (ms). */
  seenAt: number;
}

/** Why a worker is asked to start or stop accepting (for the primary's log). */
export type AcceptReason = 'above its share' | 'back at its share' | 'the only worker' | 'no other worker is heard accepting';

/** Ask a worker to start (true) or stop (false) accepting. */
export type AcceptCommand<W> = [worker: W, accept: boolean, reason: AcceptReason];

export interface AcceptBalanceOptions {
  /** Connections above the mean a worker may hold before it stops accepting (default 64)... */
  slack?: number;
  /** ...or this fraction of the mean, if more (default 1/8). */
  slackShare?: number;
  /** A worker not heard from for this long does not count as accepting (default 3000 ms). */
  staleMs?: number;
}

export class AcceptBalance<W> {
  private readonly loads = new Map<W, WorkerLoad>();
  private readonly slack: number;
  private readonly slackShare: number;
  private readonly staleMs: number;

  constructor(options: AcceptBalanceOptions = {}) {
    this.slack = options.slack ?? 64;
    this.slackShare = options.slackShare ?? 1 / 8;
    this.staleMs = options.staleMs ?? 3000;
  }

  /** A worker's report; returns what to ask of which workers now. */
  report(worker: W, connections: number, accepting: boolean, now = Date.now()): AcceptCommand<W>[] {
    const load = this.loads.get(worker);
    if (load === undefined) this.loads.set(worker, { connections, accepting, wanted: true, seenAt: now });
    else {
      load.connections = connections;
      load.accepting = accepting;
      load.seenAt = now;
    }
    return this.decide(now);
  }

  /** A worker died or left. */
  remove(worker: W, now = Date.now()): AcceptCommand<W>[] {
    return this.loads.delete(worker) ? this.decide(now) : [];
  }

  /** Called every second or so: notices workers that went silent. */
  tick(now = Date.now()): AcceptCommand<W>[] {
    return this.decide(now);
  }

  /** Whether the primary currently wants this worker to accept (tests, logs). */
  wants(worker: W): boolean {
    return this.loads.get(worker)?.wanted ?? true;
  }

  private decide(now: number): AcceptCommand<W>[] {
    const commands: AcceptCommand<W>[] = [];
    const n = this.loads.size;
    if (n === 0) return commands;
    let total = 0;
    for (const load of this.loads.values()) total += load.connections;
    const mean = total / n;
    const limit = mean + Math.max(this.slack, mean * this.slackShare);
    const live = (load: WorkerLoad): boolean => now - load.seenAt <= this.staleMs;
    // Workers that accept now, are heard from, and will go on accepting.
    let staying = 0;
    for (const load of this.loads.values()) if (load.accepting && load.wanted && live(load)) staying++;
    for (const [worker, load] of this.loads) {
      if (load.wanted) continue;
      const reason: AcceptReason | null = n === 1 ? 'the only worker' : load.connections <= mean ? 'back at its share' : staying === 0 ? 'no other worker is heard accepting' : null;
      if (reason === null) continue;
      load.wanted = true;
      commands.push([worker, true, reason]);
    }
    // A pause may only leave one of those.
    for (const [worker, load] of this.loads) {
      if (!load.wanted || load.connections <= limit) continue;
      const after = load.accepting && live(load) ? staying - 1 : staying;
      if (after < 1) continue;
      load.wanted = false;
      staying = after;
      commands.push([worker, false, 'above its share']);
    }
    return commands;
  }
}
