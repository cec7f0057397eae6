// Fire-and-forget writes with a reckoning: a write's failure is remembered, and the next
// flush() rejects with it. flush() resolves once every write issued before it has answered.
//
// On one connection to one server (a single Redis, or the master found through Sentinel)
// replies come back in issue order, so it is enough to wait for the reply to the last write:
// no bookkeeping per write, and no extra command per flush except a PING when nothing was
// written since the last one. On a Redis Cluster writes go to several shards and answer in any
// order, and a write made of several steps (retained-store.ts) has no single last reply: then
// every write in the air is kept until it answers, and flush waits for those issued before it.
// With --redis-wait-replicas, flush also waits until what it covers is on the replicas (replica-wait.ts).
import type { RedisConn } from './connection.js';
import { isCluster } from './connection.js';
import type { ReplicaWait } from './replica-wait.js';

const settled: Promise<unknown> = Promise.resolve();

export class WriteTracker {
  private last: Promise<unknown> = settled;
  /** Writes tracked so far (each write's number), and since the last flush. */
  private seq = 0;
  private sinceFlush = 0;
  /** Numbers of the writes that failed and that some flush may still have to report. */
  private failed: Array<{ seq: number; err: unknown }> = [];
  /** Every flush that started from now on covers only writes after this one: earlier ones were reported. */
  private reported = 0;
  /**
   * The `from` of the flushes in progress, with how many share it (a failure after it is still
   * theirs to report). `from` never decreases, so the first key is the smallest.
   */
  private readonly running = new Map<number, number>();
  /** Unordered: the writes not answered yet. */
  private readonly inAir: Set<Promise<unknown>> | null;

  /**
   * ordered: replies come back in issue order and every tracked promise is one command
   * (default: true unless redis is a cluster).
   */
  constructor(
    private readonly redis: RedisConn,
    ordered = !isCluster(redis),
    private readonly replicas: ReplicaWait | null = null,
  ) {
    this.inAir = ordered ? null : new Set();
  }

  /**
   * Attaches the failure bookkeeping to a write nobody awaits. key: one the write touches (on a
   * Redis Cluster it names the master --redis-wait-replicas waits on; none: every master).
   */
  track(write: Promise<unknown>, key?: string): void {
    this.sinceFlush++;
    const seq = ++this.seq;
    this.replicas?.touch(key);
    const fail = (err: unknown): void => void this.failed.push({ seq, err });
    const inAir = this.inAir;
    if (inAir === null) {
      this.last = write.catch(fail);
      return;
    }
    const answered = write.then(
      () => void inAir.delete(answered),
      (err: unknown) => {
        inAir.delete(answered);
        fail(err);
      },
    );
    inAir.add(answered);
  }

  /**
   * Resolves once every write issued before it has answered; rejects if one of them failed. Every
   * flush in progress when a write fails reports it (each of them may have acknowledgements
   * waiting on it); flushes begun after one of them finished do not.
   */
  async flush(): Promise<void> {
    if (this.sinceFlush === 0 && this.failed.length === 0) {
      // Nothing to wait for: still say whether Redis is there, as a write would have.
      await this.redis.ping();
      return;
    }
    this.sinceFlush = 0;
    // A WAIT covering these writes may fail before this flush asks (replica-wait.ts sync).
    const failedBefore = this.replicas?.failed;
    const from = this.reported;
    const upTo = this.seq;
    this.running.set(from, (this.running.get(from) ?? 0) + 1);
    try {
      if (this.inAir === null) await this.last;
      else if (this.inAir.size > 0) await Promise.all([...this.inAir]);
      const failure = this.failed.find((f) => f.seq > from && f.seq <= upTo);
      if (failure !== undefined) throw failure.err;
    } finally {
      const left = this.running.get(from)! - 1;
      if (left === 0) this.running.delete(from);
      else this.running.set(from, left);
      if (upTo > this.reported) this.reported = upTo;
      if (this.failed.length > 0) {
        // Forgotten: failures no flush in progress or begun from now on can cover.
        const oldest = this.running.keys().next();
        const floor = oldest.done === true ? this.reported : Math.min(this.reported, oldest.value);
        this.failed = this.failed.filter((f) => f.seq > floor);
      }
    }
    if (this.replicas !== null) await this.replicas.sync(failedBefore);
  }
}
