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
  private failure: unknown = null;
  private last: Promise<unknown> = settled;
  /** Writes tracked since the last flush: with none, flush() asks Redis (a PING) instead. */
  private sinceFlush = 0;
  /** Unordered: the writes not answered yet. */
  private readonly inAir: Set<Promise<unknown>> | null;
  private readonly remember = (err: unknown): void => {
    this.failure ??= err;
  };

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
    this.replicas?.touch(key);
    const inAir = this.inAir;
    if (inAir === null) {
      this.last = write.catch(this.remember);
      return;
    }
    const settled = write.then(
      () => void inAir.delete(settled),
      (err: unknown) => {
        inAir.delete(settled);
        this.remember(err);
      },
    );
    inAir.add(settled);
  }

  async flush(): Promise<void> {
    if (this.sinceFlush === 0) {
      // Nothing to wait for: still say whether Redis is there, as a write would have.
      await this.redis.ping();
      return;
    }
    this.sinceFlush = 0;
    if (this.inAir === null) await this.last;
    else if (this.inAir.size > 0) await Promise.all([...this.inAir]);
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw failure;
    if (this.replicas !== null) await this.replicas.sync();
  }
}
