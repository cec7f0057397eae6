// --redis-wait-replicas N: an acknowledgement is sent only once the store writes behind it are on
// N replicas, so a failover that promotes one of them loses nothing that was acknowledged.
//
// Redis' WAIT blocks the connection it is sent on until every write sent before it on that
// connection reached N replicas (or the timeout passed) and returns how many did. So one WAIT
// covers every write made before it: the flushes of one event-loop turn share one WAIT per
// master (one Redis, or every master of a Redis Cluster: writes of a turn may be on any shard).
// A WAIT that comes back short rejects: the caller refuses the acknowledgement (the client sends
// the message again), as when Redis is away.
import type { RedisConn } from './connection.js';
import { isCluster } from './connection.js';

export class ReplicaWaitError extends Error {
  constructor(
    readonly wanted: number,
    readonly got: number,
    readonly timeoutMs: number,
  ) {
    super(`store write reached ${got} of ${wanted} replica(s) within ${timeoutMs} ms (--redis-wait-replicas)`);
    this.name = 'ReplicaWaitError';
  }
}

export class ReplicaWait {
  private next: Promise<void> | null = null;
  /** WAIT commands sent (diagnostics, tests). */
  waits = 0;

  constructor(
    private readonly redis: RedisConn,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /** Resolves once every write issued on the connection before this turn ends is on the replicas. */
  sync(): Promise<void> {
    if (this.next !== null) return this.next;
    const next = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        // Calls from now on need a WAIT sent after their writes: a new one.
        this.next = null;
        this.waitAll().then(resolve, reject);
      });
    });
    this.next = next;
    return next;
  }

  private async waitAll(): Promise<void> {
    const masters = isCluster(this.redis) ? this.redis.nodes('master') : [this.redis];
    this.waits += masters.length;
    const counts = await Promise.all(masters.map((m) => m.call('WAIT', this.replicas, this.timeoutMs) as Promise<number>));
    const short = Math.min(...counts);
    if (short < this.replicas) throw new ReplicaWaitError(this.replicas, short, this.timeoutMs);
  }
}
