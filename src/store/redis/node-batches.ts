// Messages leaving this node, batched per target node: everything gathered for one node in an
// event-loop turn goes out as one MESSAGES frame in one PUBLISH on its channel. Redis pays per
// command, not per byte, so under load the batches grow by themselves and the cost per message
// falls. Each frame's entry bytes count against the target's flow-control window (bus-flow.ts).
//
// PUBLISH answers with the number of receivers. A heard frame is kept for a while (ReplayBuffer)
// in case the node dies with it unread; an unheard one (the node is gone, or between reconnects)
// is pushed onto the node's limbo list, which is drained without acks, so it leaves the window.
//
// Every frame's entry bytes also count as waiting on Redis (RedisBacklog) from the moment they are
// added until Redis has answered the PUBLISH (and the RPUSH into limbo, if any): past the cap the
// publishers concerned are paused, so a stopped Redis cannot make this process buffer without bound.
import type { RedisConn } from './connection.js';
import { publish } from './pubsub.js';
import type { BusFlow } from './bus-flow.js';
import type { RedisBacklog } from './redis-backlog.js';
import { encodeMessagesFrame, entryBytes, markUnheard, type MarkedEntry } from './node-frames.js';
import type { ReplayBuffer } from './replay-buffer.js';
import type { BusKeys } from './route-sync.js';

interface Batch {
  parts: Array<Buffer | MarkedEntry>;
  /** Sum of entryBytes over parts: the frame's size less its header, and what flow control counts. */
  entries: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class NodeBatches {
  private pending = new Map<string, Batch>();
  private flushScheduled = false;
  /** Per target node, the batches flushed and not yet answered (settled() waits for them). */
  private readonly inAir = new Map<string, Set<Promise<void>>>();

  constructor(
    private readonly nodeId: string,
    private readonly redis: RedisConn,
    private readonly keys: BusKeys,
    private readonly flow: BusFlow,
    private readonly replay: ReplayBuffer,
    private readonly backlog: RedisBacklog,
  ) {}

  /** Adds one encoded message to node's batch; resolves once its frame is with Redis (or in the node's limbo). */
  add(node: string, encoded: Buffer | MarkedEntry): Promise<void> {
    let batch = this.pending.get(node);
    if (batch === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      batch = { parts: [], entries: 0, promise, resolve, reject };
      this.pending.set(node, batch);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    }
    batch.parts.push(encoded);
    const bytes = entryBytes(encoded);
    batch.entries += bytes;
    this.flow.sent(node, bytes);
    this.backlog.written(bytes);
    return batch.promise;
  }

  /**
   * Resolves once every frame this node has gathered or sent for node is with Redis: heard, or
   * pushed onto its limbo. A 'gone' announcement waits for it before its ack: recovery drains the
   * dead node's limbo once every live node acked, and an unheard frame pushed after that drain
   * was lost.
   */
  settled(node: string): Promise<void> {
    const waits = [...(this.inAir.get(node) ?? [])];
    const batch = this.pending.get(node);
    if (batch !== undefined) waits.push(batch.promise);
    return waits.length === 0 ? Promise.resolve() : Promise.allSettled(waits).then(() => undefined);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    const now = Date.now();
    for (const [node, batch] of pending) {
      const frame = encodeMessagesFrame(batch.parts, this.nodeId, batch.entries, { sentAt: now });
      const answered: Promise<void> = publish(this.redis, this.keys.nodeChannel(node), frame)
        .then(
          (receivers) => {
            if (receivers > 0) return this.replay.record(node, frame, now);
            this.flow.unsent(node, batch.entries);
            return this.redis.rpush(this.keys.limbo(node), markUnheard(frame)).then(() => undefined);
          },
          (err: unknown) => {
            this.flow.unsent(node, batch.entries);
            throw err;
          },
        )
        .then(
          () => {
            this.backlog.answered(batch.entries);
            batch.resolve();
          },
          (err: unknown) => {
            this.backlog.answered(batch.entries);
            batch.reject(err);
          },
        )
        .finally(() => {
          const set = this.inAir.get(node);
          set?.delete(answered);
          if (set?.size === 0) this.inAir.delete(node);
        });
      let set = this.inAir.get(node);
      if (set === undefined) this.inAir.set(node, (set = new Set()));
      set.add(answered);
    }
  };
}
