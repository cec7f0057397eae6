// Flow control across the bus: credit per pair of nodes, counted in bytes of message entries.
//
// In one process a flood slows itself: the broker reads a publisher's socket only when its event
// loop has time, so delivery and reading share the loop and TCP throttles the publisher. Across
// nodes nothing did that: a node holding publishers read and forwarded at full speed whatever the
// receiving node could process, Redis buffered the difference, and the receiver spent its CPU on a
// backlog (seconds of latency, then QoS 0 dropped at its subscribers' high-water marks).
//
// Sender side: every byte of message entries sent to a node is outstanding until that node acks
// it. A node with `window` bytes or more outstanding is behind: a publisher whose message went to
// it is paused (the core stops reading its socket) and resumed once the node is back under half
// the window — TCP's behaviour between a client and one process, across the cluster. Publishers
// whose messages go elsewhere are not touched.
//
// Receiver side: after delivering a frame, a node acks the bytes it processed to their sender once
// they reach ACK_EVERY_BYTES (fixed, so nodes configured with different windows agree; a window is
// at least four times it), so a sender that is not behind never waits on an ack, and a node that
// keeps up costs one small PUBLISH per 64 KiB received.
//
// A node that acks nothing for `stallMs` while behind (stopped, or dead and not yet recovered) is
// not waited for any longer: its publishers are resumed and the messages pile up in Redis as they
// did before, until it acks again (caught up) or is declared gone (its credit forgotten).
//
// Credit lives as long as the connection it describes. A node whose subscriber connection was
// reset (Redis cut it off past its pub/sub output limit, or Redis restarted) lost what was unread
// on it and will never ack those bytes; once it is back it announces 'rejoin', and every node
// forgets its credit both ways (forget): as sender, the bytes it never processed; as receiver, what
// we processed from it and had not acked yet (it forgot its own count of them when it lost its
// connection). Without that a sender stayed throttled towards it for good (a window that never
// emptied: paused most of every stall period) until Redis restarted.
// Throttling is a speed matter only: nothing is dropped or refused because of it.
import type { Throttled } from '../types.js';

interface SenderCredit {
  /** Entry bytes sent to the node and not yet acked. */
  outstanding: number;
  /** Publishers paused because of this node. */
  waiters: Throttled[];
  /** Date.now() of the last ack (or of the moment the node fell behind). */
  lastAck: number;
  /** Behind, but not acking: not waited for until it acks again. */
  stalled: boolean;
}

export interface BusFlowOptions {
  /** Bytes a node may have outstanding before its publishers wait (default 1 MiB, at least MIN_WINDOW_BYTES; 0: no flow control). */
  windowBytes?: number;
  /** How long a node that is behind may go without acking before it is no longer waited for. */
  stallMs?: number;
}

/** Receivers ack every this many entry bytes per sender. */
export const ACK_EVERY_BYTES = 64 * 1024;
/** The smallest window: below four acks' worth a sender would wait on acks that are not due. */
export const MIN_WINDOW_BYTES = 4 * ACK_EVERY_BYTES;

export class BusFlow {
  readonly windowBytes: number;
  private readonly stallMs: number;
  private readonly credit = new Map<string, SenderCredit>();
  /** Receiver side: bytes processed from each sender and not acked yet. */
  private readonly toAck = new Map<string, number>();
  /** The node that made the last publish wait (set by sent(), taken by throttle()). */
  private blocking: SenderCredit | null = null;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Counters for tests and logs. */
  pauses = 0;

  constructor(
    options: BusFlowOptions,
    /** Sends an ack of `bytes` to node `to` (a PUBLISH on its channel). */
    private readonly sendAck: (to: string, bytes: number) => void,
  ) {
    const window = options.windowBytes ?? 1024 * 1024;
    // Off (0) only stops this node waiting; it still acks what it receives.
    this.windowBytes = window > 0 ? Math.max(window, MIN_WINDOW_BYTES) : Infinity;
    this.stallMs = options.stallMs ?? 1000;
  }

  // ---- sender side ------------------------------------------------------------------------

  /**
   * A new message is being published: forget which node held back the previous one, which may
   * have had no publisher to throttle (a will, $SYS, a recovered message).
   */
  beginMessage(): void {
    this.blocking = null;
  }

  /** Counts bytes of one message entry sent to node; notes it when that node is behind. */
  sent(node: string, bytes: number): void {
    if (this.windowBytes === Infinity) return;
    let c = this.credit.get(node);
    if (c === undefined) this.credit.set(node, (c = { outstanding: 0, waiters: [], lastAck: 0, stalled: false }));
    const before = c.outstanding;
    c.outstanding = before + bytes;
    if (c.outstanding < this.windowBytes || c.stalled) return;
    // Just fell behind: the stall clock starts now, not at an ack long ago.
    if (before < this.windowBytes) c.lastAck = Date.now();
    this.armStallTimer();
    this.blocking = c;
  }

  /** Bytes that did not go out after all (Redis refused, or they went into the node's limbo list). */
  unsent(node: string, bytes: number): void {
    const c = this.credit.get(node);
    if (c !== undefined) this.acked(c, bytes);
  }

  /** Called right after the publish that may have set `blocking`: pauses the publisher if so. */
  throttle(publisher: Throttled): void {
    const c = this.blocking;
    if (c === null) return;
    this.blocking = null;
    if (c.stalled || c.outstanding < this.windowBytes) return;
    if (publisher.pauseReading()) {
      this.pauses++;
      c.waiters.push(publisher);
    }
  }

  /** An ack from node: it processed `bytes` of what we sent it. */
  onAck(node: string, bytes: number): void {
    const c = this.credit.get(node);
    if (c === undefined) return;
    c.lastAck = Date.now();
    c.stalled = false;
    this.acked(c, bytes);
  }

  /** Node is gone, or rejoined on a new connection: forget its credit both ways, resume whoever waits on it. */
  forget(node: string): void {
    const c = this.credit.get(node);
    this.toAck.delete(node);
    if (c === undefined) return;
    this.credit.delete(node);
    if (this.blocking === c) this.blocking = null;
    resumeAll(c);
  }

  /** Everything, e.g. when the Redis connection was lost: acks in flight are gone with it. */
  forgetAll(): void {
    for (const node of [...this.credit.keys()]) this.forget(node);
    this.toAck.clear();
  }

  /** Bytes processed from node and not acked yet (tests). */
  unacked(node: string): number {
    return this.toAck.get(node) ?? 0;
  }

  /** Bytes outstanding to node (tests). */
  outstanding(node: string): number {
    return this.credit.get(node)?.outstanding ?? 0;
  }

  /** Bytes outstanding to every node together (/metrics: how far behind the other nodes are). */
  get outstandingTotal(): number {
    let total = 0;
    for (const c of this.credit.values()) total += c.outstanding;
    return total;
  }

  close(): void {
    clearTimeout(this.stallTimer);
    this.forgetAll();
  }

  private acked(c: SenderCredit, bytes: number): void {
    c.outstanding = Math.max(0, c.outstanding - bytes);
    if (c.waiters.length > 0 && c.outstanding <= this.windowBytes / 2) resumeAll(c);
  }

  private armStallTimer(): void {
    if (this.stallTimer !== undefined) return;
    this.stallTimer = setTimeout(this.checkStalls, this.stallMs);
    this.stallTimer.unref();
  }

  private readonly checkStalls = (): void => {
    this.stallTimer = undefined;
    const now = Date.now();
    let behind = false;
    for (const c of this.credit.values()) {
      if (c.stalled || c.outstanding < this.windowBytes) continue;
      if (now - c.lastAck >= this.stallMs) {
        c.stalled = true;
        resumeAll(c);
      } else behind = true;
    }
    if (behind) this.armStallTimer();
  };

  // ---- receiver side ----------------------------------------------------------------------

  /** This node processed `bytes` of entries from node `from`; acks once ACK_EVERY_BYTES are due. */
  processed(from: string, bytes: number): void {
    const due = (this.toAck.get(from) ?? 0) + bytes;
    if (due < ACK_EVERY_BYTES) {
      this.toAck.set(from, due);
      return;
    }
    this.toAck.set(from, 0);
    this.sendAck(from, due);
  }
}

function resumeAll(c: SenderCredit): void {
  const waiters = c.waiters;
  c.waiters = [];
  for (const w of waiters) w.resumeReading();
}
