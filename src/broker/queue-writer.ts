// The one place a message is written to a session's store queue (offline persistent sessions,
// and online ones whose window and memory queue are full: session.ts spill).
//
// A write the publisher's acknowledgement waits for (a PUBLISH on this node: broker.publish
// flushes the store) fails into that acknowledgement: the PUBACK/PUBREC is refused and the
// client sends the message again. Every other write has no one left to tell: the message came
// from the bus or a dead node's replay, or from a session's memory, and its publisher was
// acknowledged already. Dropping it when the store fails (a Redis failover, a shard moving) lost
// acknowledged messages. Such a write waits here instead and is tried again until the store
// takes it, in order per client (a later message for the client waits behind it). Such a write
// also counts as failed until it is on the replicas --redis-wait-replicas asks for (the store's
// `durable`): nothing else waits for that, and a failover that promoted a replica without it
// lost it.
//
// Bounded: at most --max-queued messages per client and maxWaitingBytes in all wait here; beyond
// that a message is dropped and counted, as a full queue drops it.
//
// A retried write is not skipped as "taken already" (Origin.unheard): the failed attempt may have
// reached the store anyway, so a retry can duplicate a message (QoS 1 allows it; a QoS 2
// duplicate needs a write that was applied and whose reply was lost), but never lose one.
import type { Logger } from '../log.js';
import type { Message, QueueLimits, ReplayOrigin, SessionStore } from '../store/types.js';
import { queuedSize } from '../store/types.js';
import type { DropLog } from './drop-log.js';

export interface QueueWriterDeps {
  store: SessionStore;
  limits: QueueLimits;
  drops: DropLog;
  log: Logger;
  /** This node's id: a message from the bus is recorded as taken by this node's copy of the session. */
  nodeId: string;
  /** Bytes (payload + topic) that may wait for the store in all. */
  maxWaitingBytes: number;
  /** Tells the node holding the client that its queue grew (a bridge: the client is on another node). */
  notifyHolder(clientId: string): void;
  /** A retried write landed: the client may be online here by now, and take it. */
  queueChanged(clientId: string): void;
}

export interface QueueWrite {
  /** The write's failure is reported to the publisher (no retry). */
  awaited: boolean;
  /** The client is held on another node, which is told to take it once written. */
  notifyHolder?: boolean;
  /** A dead node's replayed message: that node is the holder checked for "taken already". */
  replayedFrom?: string;
}

interface Waiting {
  message: Message;
  origin: ReplayOrigin | undefined;
  notifyHolder: boolean;
  size: number;
  done: () => void;
}

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;
const FULL = 'waiting for the store: --max-queued or the waiting bytes reached';
const CLOSED = 'waiting for the store when the broker stopped';

export class QueueWriter {
  /** Per client, the writes waiting for the store, oldest first. */
  private readonly waiting = new Map<string, Waiting[]>();
  private waitingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private delayMs = RETRY_FIRST_MS;
  private retrying = false;
  private closed = false;
  /** Writes tried again and taken by the store (diagnostics, tests). */
  retried = 0;

  constructor(private readonly deps: QueueWriterDeps) {}

  /** Messages waiting for the store (all clients). */
  get waitingCount(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  /**
   * Writes message to clientId's queue. Resolves once it is written or dropped (counted), or, for
   * an awaited write, failed (logged: the flush the publisher waits on reports it).
   */
  write(clientId: string, message: Message, how: QueueWrite): Promise<void> {
    const o = message.origin;
    const origin: ReplayOrigin | undefined = o === undefined ? undefined : { sender: o.sender, seq: o.seq, holder: how.replayedFrom ?? this.deps.nodeId, unheard: o.unheard };
    const notifyHolder = how.notifyHolder === true;
    // Behind a write of the same client that waits: after it, in order.
    if (!how.awaited && this.waiting.has(clientId)) return this.wait(clientId, message, origin, notifyHolder);
    // Not awaited: nothing else makes sure it reached the replicas (a failover would lose it).
    return this.deps.store.enqueue(clientId, message, this.deps.limits, origin, !how.awaited).then(
      (kept) => this.settled(clientId, kept, notifyHolder, false),
      (err: unknown) => {
        if (how.awaited) {
          this.deps.log.error({ err, clientId }, 'could not queue a message for a client');
          return;
        }
        if (!this.waiting.has(clientId) && !this.closed) this.deps.log.warn({ err, clientId }, 'could not queue a message for a client: it waits and is tried again');
        return this.wait(clientId, message, origin, notifyHolder);
      },
    );
  }

  /** Drops what waits (counted): the broker is stopping. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const [clientId, list] of this.waiting) for (const w of list) this.drop(clientId, w, CLOSED);
    this.waiting.clear();
    this.waitingBytes = 0;
  }

  private settled(clientId: string, kept: boolean, notifyHolder: boolean, retried: boolean): void {
    const { drops, limits } = this.deps;
    if (!kept) return drops.dropped(clientId, 'offline queue full', { maxQueued: limits.messages, maxQueuedBytes: limits.bytes });
    if (notifyHolder) this.deps.notifyHolder(clientId);
    if (retried) this.deps.queueChanged(clientId);
  }

  private wait(clientId: string, message: Message, origin: ReplayOrigin | undefined, notifyHolder: boolean): Promise<void> {
    return new Promise<void>((done) => {
      // A retry is never skipped as taken (see the top): the failed attempt may have set the mark.
      const entry: Waiting = { message, origin: origin === undefined ? undefined : { ...origin, unheard: true }, notifyHolder, size: queuedSize(message), done };
      if (this.closed) return this.drop(clientId, entry, CLOSED);
      let list = this.waiting.get(clientId);
      if ((list?.length ?? 0) >= this.deps.limits.messages || this.waitingBytes + entry.size > this.deps.maxWaitingBytes) return this.drop(clientId, entry, FULL);
      if (list === undefined) this.waiting.set(clientId, (list = []));
      list.push(entry);
      this.waitingBytes += entry.size;
      this.schedule();
    });
  }

  private drop(clientId: string, w: Waiting, why: string): void {
    this.deps.drops.dropped(clientId, why, { maxQueued: this.deps.limits.messages, maxWaitingBytes: this.deps.maxWaitingBytes });
    w.done();
  }

  private schedule(): void {
    if (this.timer !== null || this.retrying || this.closed) return;
    this.timer = setTimeout(() => void this.retry(), this.delayMs);
    this.timer.unref();
  }

  /**
   * One round: every waiting client's writes sent in order (one client's keys are on one
   * server and one connection, which keeps their order); the written ones leave, the first that
   * failed and those after it wait for the next round, later if the store is still failing.
   */
  private async retry(): Promise<void> {
    this.timer = null;
    this.retrying = true;
    let failed = false;
    try {
      await Promise.all([...this.waiting.keys()].map(async (clientId) => {
        const list = this.waiting.get(clientId)!;
        const sent = list.slice();
        const results = await Promise.all(sent.map((w) => this.deps.store.enqueue(clientId, w.message, this.deps.limits, w.origin, true).catch(() => null)));
        let written = 0;
        while (written < results.length && results[written] !== null) written++;
        if (written < results.length) failed = true;
        // Those after a failed one go again too, behind it (at worst a duplicate, never reordered past it).
        list.splice(0, written);
        if (list.length === 0) this.waiting.delete(clientId);
        for (let i = 0; i < written; i++) {
          const w = sent[i]!;
          this.waitingBytes -= w.size;
          this.retried++;
          this.settled(clientId, results[i]!, w.notifyHolder, true);
          w.done();
        }
      }));
    } finally {
      this.retrying = false;
    }
    this.delayMs = failed ? Math.min(RETRY_MAX_MS, this.delayMs * 2) : RETRY_FIRST_MS;
    if (this.waiting.size > 0) this.schedule();
  }
}
