// --redis-wait-replicas N: an acknowledgement is sent only once the store writes behind it are on
// N replicas, so a failover that promotes one of them loses nothing that was acknowledged.
//
// Redis' WAIT blocks the connection it is sent on until every write sent before it on that
// connection reached N replicas (or the timeout passed) and returns how many did. So one WAIT
// covers every write made before it: the flushes of one event-loop turn share one WAIT per
// master. On a Redis Cluster only the masters this node wrote to since their last WAIT are
// asked (writes are touched by key: the slot names the master), so a shard that lost its
// replica refuses only the acknowledgements whose writes went there. A WAIT that comes back
// short, or cannot be asked because its master died or was demoted, rejects: the caller refuses
// the acknowledgement (the client sends the message again), as when Redis is away.
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { isCluster, type RedisConn } from './connection.js';

export class ReplicaWaitError extends Error {
  constructor(
    readonly wanted: number,
    readonly got: number,
    readonly timeoutMs: number,
    cause?: unknown,
  ) {
    super(`store write reached ${got} of ${wanted} replica(s) within ${timeoutMs} ms (--redis-wait-replicas)${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'ReplicaWaitError';
  }
}

/** Per master: writes touched so far, and how many of them a WAIT has settled (confirmed or refused). */
interface Master {
  touched: number;
  settled: number;
  /** The WAIT of this turn, not sent yet: joined by every sync() until it goes. */
  next: Promise<void> | null;
}

const SINGLE = '';
const resolved = Promise.resolve();

export class ReplicaWait {
  /** WAIT commands sent (diagnostics, tests). */
  waits = 0;
  /**
   * WAITs that failed so far. A failed WAIT settles the writes it covered (later writes need a WAIT
   * of their own: a dead master must not fail every flush from then on), so a caller whose writes
   * it covered but who asks only afterwards passes the count it saw before writing (sync(failedBefore)).
   */
  failed = 0;
  private lastFailure: unknown = null;
  private readonly masters = new Map<string, Master>();

  constructor(
    private readonly redis: RedisConn,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /** A write was sent for key (undefined: to every master, e.g. a retained message and its index). */
  touch(key?: string): void {
    const redis = this.redis;
    if (!isCluster(redis)) return this.touchMaster(SINGLE);
    if (key === undefined) {
      for (const node of redis.nodes('master')) this.touchMaster(`${node.options.host}:${node.options.port}`);
      return;
    }
    const nodeKey = redis.slots[calculateSlot(key)]?.[0];
    if (nodeKey !== undefined) this.touchMaster(nodeKey);
  }

  /**
   * Resolves once every write touched before this call is on the replicas; rejects if one is not.
   * failedBefore: `failed` as it was before the caller's writes were touched; a WAIT that failed
   * since may have covered them, and makes this reject too.
   */
  sync(failedBefore?: number): Promise<void> {
    let waits: Promise<void>[] | undefined;
    for (const [nodeKey, master] of this.masters) {
      if (master.touched === master.settled) continue;
      (waits ??= []).push(this.nextWait(nodeKey, master));
    }
    const all = waits === undefined ? resolved : waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
    if (failedBefore === undefined) return all;
    return all.then(() => {
      if (this.failed !== failedBefore) throw this.lastFailure;
    });
  }

  private touchMaster(nodeKey: string): void {
    const master = this.masters.get(nodeKey);
    if (master === undefined) this.masters.set(nodeKey, { touched: 1, settled: 0, next: null });
    else master.touched++;
  }

  /** The WAIT sent to this master at the end of this turn (covering every touch until then). */
  private nextWait(nodeKey: string, master: Master): Promise<void> {
    if (master.next !== null) return master.next;
    const next = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        master.next = null;
        const covers = master.touched;
        this.waitOn(nodeKey).then(
          () => {
            master.settled = Math.max(master.settled, covers);
            resolve();
          },
          (err: unknown) => {
            // Those who waited on it are told (and those who ask later: failedBefore); later
            // writes need a WAIT of their own.
            master.settled = Math.max(master.settled, covers);
            this.failed++;
            this.lastFailure = err;
            reject(err);
          },
        );
      });
    });
    master.next = next;
    return next;
  }

  private async waitOn(nodeKey: string): Promise<void> {
    const redis = this.redis;
    if (!isCluster(redis)) return this.waitAt(redis);
    const master = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === nodeKey);
    try {
      if (master === undefined) throw new Error(`no connection to master ${nodeKey}`);
      await this.waitAt(master);
    } catch (err) {
      if (err instanceof ReplicaWaitError) throw err;
      // The master that took the writes is gone (killed, or no longer in the slot map) or is a
      // replica now. Whether its replicas had the writes cannot be known any more: refuse. Asking
      // the new masters instead would prove nothing (a WAIT covers only writes made on its own
      // connection), and was how acknowledged messages were lost when a master was killed.
      // The slot map is refreshed so that later writes are touched on the right masters.
      redis.refreshSlotsCache(() => {});
      throw new ReplicaWaitError(this.replicas, 0, this.timeoutMs, err);
    }
  }

  private async waitAt(connection: Redis): Promise<void> {
    this.waits++;
    let got: number;
    try {
      got = (await connection.call('WAIT', this.replicas, this.timeoutMs)) as number;
    } catch (err) {
      if (!isCluster(this.redis)) throw new ReplicaWaitError(this.replicas, 0, this.timeoutMs, err);
      throw err;
    }
    if (got < this.replicas) throw new ReplicaWaitError(this.replicas, got, this.timeoutMs);
  }
}
