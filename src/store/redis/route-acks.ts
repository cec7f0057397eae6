// Acks of route announcements: an announcer opens a wait for its seq BEFORE publishing (an ack
// can arrive on the subscriber connection before the PUBLISH reply on the command connection),
// learns from that reply how many nodes heard it, and waits for that many acks or a timeout.
// A node that does not ack in time is logged and not waited for (if it is dead, its heartbeat
// expires and recovery takes over; if it is merely slow, its clients are still connected).
import type { RedisConn } from './connection.js';
import type { Logger } from 'pino';

type Multi = ReturnType<RedisConn['multi']>;
interface Wait {
  acked: Set<string>;
  expected: number;
  done: () => void;
  allAcked: Promise<void>;
}

export class AckTracker {
  private readonly waits = new Map<number, Wait>();

  constructor(private readonly timeoutMs: number) {}

  open(seq: number): void {
    let done!: () => void;
    const allAcked = new Promise<void>((resolve) => (done = resolve));
    this.waits.set(seq, { acked: new Set(), expected: Infinity, done, allAcked });
  }

  /** Resolves once `expected` nodes acked seq, or after the timeout (onTimeout then sees who did). */
  wait(seq: number, expected: number, onTimeout: (acked: ReadonlySet<string>) => void): Promise<void> {
    const wait = this.waits.get(seq);
    if (wait === undefined) return Promise.resolve();
    wait.expected = expected;
    if (wait.acked.size >= expected) wait.done();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => (onTimeout(wait.acked), resolve()), this.timeoutMs);
      void wait.allAcked.then(() => (clearTimeout(timer), resolve()));
    });
  }

  ack(seq: number, from: string): void {
    const wait = this.waits.get(seq);
    if (wait === undefined) return;
    wait.acked.add(from);
    if (wait.acked.size >= wait.expected) wait.done();
  }

  close(seq: number): void {
    this.waits.delete(seq);
  }

  /** Releases every waiter (the bus is closing). */
  closeAll(): void {
    for (const wait of this.waits.values()) wait.done();
    this.waits.clear();
  }
}

/** Announcements on the routes channel that resolve once every other node acked them (or timed out). */
export class Announcements {
  private seq = 0;
  private readonly acks: AckTracker;

  constructor(
    private readonly redis: RedisConn,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    /** Live nodes other than this one (to name the silent ones). */
    private readonly otherLiveNodes: () => Promise<string[]>,
  ) {
    this.acks = new AckTracker(timeoutMs);
  }

  /** Runs build's MULTI, whose last command must be the PUBLISH of the announcement numbered seq. */
  send(build: (multi: Multi, seq: number) => Multi, what: string): Promise<void> {
    const seq = ++this.seq;
    this.acks.open(seq);
    return build(this.redis.multi(), seq)
      .exec()
      .then((replies) => {
        const last = replies?.[replies.length - 1];
        if (last === undefined || last[0] !== null) throw last?.[0] ?? new Error(`no reply from Redis to the announcement of ${what}`);
        // Every subscriber of the routes channel heard it; all but us will ack.
        const expected = (last[1] as number) - 1;
        return this.acks.wait(seq, expected, (acked) => this.logMissing(what, acked, expected));
      })
      .finally(() => this.acks.close(seq));
  }

  ack(seq: number, from: string): void {
    this.acks.ack(seq, from);
  }

  closeAll(): void {
    this.acks.closeAll();
  }

  private logMissing(what: string, acked: ReadonlySet<string>, expected: number): void {
    void this.otherLiveNodes().then(
      (live) => {
        const silent = live.filter((id) => !acked.has(id));
        this.log.warn({ what, acked: acked.size, expected, silent }, `bus: ${expected - acked.size} node(s) did not ack within ${this.timeoutMs} ms; not waiting for them`);
      },
      () => {},
    );
  }
}
