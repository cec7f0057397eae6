// Fire-and-forget writes with a reckoning: a write's failure is remembered, and the next
// flush() rejects with it. flush() sends a PING on the same connection: replies come back in
// issue order, so when the PING answers every earlier write has answered too.
import type { Redis } from 'ioredis';

export class WriteTracker {
  private failure: unknown = null;
  private readonly remember = (err: unknown): void => {
    this.failure ??= err;
  };

  constructor(private readonly redis: Redis) {}

  /** Attaches the failure bookkeeping to a write nobody awaits. */
  track(write: Promise<unknown>): void {
    write.catch(this.remember);
  }

  async flush(): Promise<void> {
    let pingFailure: unknown = null;
    await this.redis.ping().catch((err: unknown) => (pingFailure = err));
    // Any failure of a write issued before the PING has been remembered by now.
    const failure = this.failure ?? pingFailure;
    this.failure = null;
    if (failure !== null) throw failure;
  }
}
