// Fire-and-forget writes with a reckoning: a write's failure is remembered, and the next
// flush() rejects with it. flush() waits for the reply to the last write issued before it:
// replies come back in issue order on one connection, so by then every earlier write has
// answered too (and its failure, if any, has been remembered). No extra command per flush,
// except a PING when nothing was written since the last one.
// Every write a tracker sees must go out on the same connection.
import type { Redis } from 'ioredis';

const settled: Promise<unknown> = Promise.resolve();

export class WriteTracker {
  private failure: unknown = null;
  private last: Promise<unknown> = settled;
  /** Writes tracked since the last flush: with none, flush() asks Redis (a PING) instead. */
  private sinceFlush = 0;
  private readonly remember = (err: unknown): void => {
    this.failure ??= err;
  };

  constructor(private readonly redis: Redis) {}

  /** Attaches the failure bookkeeping to a write nobody awaits. */
  track(write: Promise<unknown>): void {
    this.last = write.catch(this.remember);
    this.sinceFlush++;
  }

  async flush(): Promise<void> {
    if (this.sinceFlush === 0) {
      // Nothing to wait for: still say whether Redis is there, as a write would have.
      await this.redis.ping();
      return;
    }
    this.sinceFlush = 0;
    await this.last;
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw failure;
  }
}
