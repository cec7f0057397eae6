// Keeps connections spread over the workers when the kernel, not the primary, picks the worker
// that accepts each one (Starling's default, cluster.SCHED_NONE: see primary.ts). Workers report
// their open connections; a worker holding more than its share by the slack is told to stop
// accepting, and to start again once it is back at the mean. So a worker that the kernel favours
// cannot run away with the connections, and a replacement for a dead worker gets the reconnecting
// clients until it has caught up (round robin would split them evenly and leave it behind).
//
// At least one worker always accepts: a worker is only told to stop while another one that has
// confirmed it accepts stays accepting. Otherwise node:cluster would close the shared socket.

/** What the primary knows of one worker: its last report, and what it last asked of it. */
interface WorkerLoad {
  connections: number;
  /** As last reported by the worker. */
  accepting: boolean;
  /** What the primary last asked (a worker starts out accepting). */
  wanted: boolean;
}

/** Ask a worker to start (true) or stop (false) accepting. */
export type AcceptCommand<W> = [worker: W, accept: boolean];

export interface AcceptBalanceOptions {
  /** Connections above the mean a worker may hold before it stops accepting (default 64)... */
  slack?: number;
  /** ...or this fraction of the mean, if more (default 1/8). */
  slackShare?: number;
}

export class AcceptBalance<W> {
  private readonly loads = new Map<W, WorkerLoad>();
  private readonly slack: number;
  private readonly slackShare: number;

  constructor(options: AcceptBalanceOptions = {}) {
    this.slack = options.slack ?? 64;
    this.slackShare = options.slackShare ?? 1 / 8;
  }

  /** A worker's report; returns what to ask of which workers now. */
  report(worker: W, connections: number, accepting: boolean): AcceptCommand<W>[] {
    const load = this.loads.get(worker);
    if (load === undefined) this.loads.set(worker, { connections, accepting, wanted: true });
    else {
      load.connections = connections;
      load.accepting = accepting;
    }
    return this.decide();
  }

  /** A worker died or left. */
  remove(worker: W): AcceptCommand<W>[] {
    return this.loads.delete(worker) ? this.decide() : [];
  }

  /** Whether the primary currently wants this worker to accept (tests, logs). */
  wants(worker: W): boolean {
    return this.loads.get(worker)?.wanted ?? true;
  }

  private decide(): AcceptCommand<W>[] {
    const commands: AcceptCommand<W>[] = [];
    const n = this.loads.size;
    if (n === 0) return commands;
    let total = 0;
    for (const load of this.loads.values()) total += load.connections;
    const mean = total / n;
    const limit = mean + Math.max(this.slack, mean * this.slackShare);
    for (const [worker, load] of this.loads) {
      if (!load.wanted && (n === 1 || load.connections <= mean)) {
        load.wanted = true;
        commands.push([worker, true]);
      }
    }
    // Workers that accept now and will go on accepting: a pause may only leave one of them.
    let staying = 0;
    for (const load of this.loads.values()) if (load.accepting && load.wanted) staying++;
    for (const [worker, load] of this.loads) {
      if (!load.wanted || load.connections <= limit) continue;
      const after = load.accepting ? staying - 1 : staying;
      if (after < 1) continue;
      load.wanted = false;
      staying = after;
      commands.push([worker, false]);
    }
    return commands;
  }
}
