// One client's MQTT session while it is connected: subscriptions, the will, outgoing QoS 1/2
// (packet ids, the in-flight window, the queue behind it) and incoming QoS 2 ids.
//
// Persistence: a persistent session (clean session 0 / v5 expiry > 0) mirrors its state into
// the SessionStore with pipelined writes (putInflight on send, deleteInflight on ack, the
// incoming QoS 2 ids), so a resume on any node can resend unacknowledged messages with DUP.
// Clean sessions write nothing but their will.
import { encode, type ProtocolVersion, type QoS } from '../protocol/index.js';
import { queuedSize, type InflightRecord, type Message, type QueueLimits, type SessionStore, type SubscriptionOptions } from '../store/types.js';
import type { Logger } from '../log.js';
import { FanOut, isExpired, ownPayload } from './outgoing.js';
import type { QueueWriter } from './queue-writer.js';
import type { OutgoingAliases } from './outgoing-aliases.js';
import type { BrokerCounters } from './stats.js';
import type { DropLog } from './drop-log.js';
import { RecentCopies } from './recent-copies.js';
import type { ClientAcl } from './acl/acl.js';
import type { ClientInfo } from './hooks/types.js';

/** What a session needs from its connection. */
export interface SessionSink {
  readonly version: ProtocolVersion;
  write(frame: Buffer): void;
  /** True while the socket holds more unsent bytes than the high-water mark. */
  readonly congested: boolean;
  /** v5 Maximum Packet Size of the client; larger messages are not sent to it [v5:MQTT-3.1.2-24]. */
  readonly maxPacketSize: number;
  /** Topic aliases towards a v5 client that allows them; null otherwise. */
  readonly outgoingAliases: OutgoingAliases | null;
}

export interface SessionDeps {
  store: SessionStore;
  counters: BrokerCounters;
  log: Logger;
  /** --max-queued / --max-queued-bytes: the queue behind the window, as the offline queue. */
  limits: QueueLimits;
  drops: DropLog;
  /** This node's id: what a session takes from the bus is recorded as taken here (ReplayOrigin). */
  nodeId: string;
  /** Store writes made by deliveries (a PUBACK waits for them when a publish made any). */
  writes: { count: number };
  /** Writes the store queue (retries what no publisher waits for). */
  queue: QueueWriter;
}

/** Why a message is dropped (DropLog's per-client line). */
const NOT_READING = 'QoS 0 to a client that is not reading (--max-write-buffer)';
const TOO_LARGE = "larger than the client's Maximum Packet Size";

/** How long after a failed take from the store queue it is tried again (while the client is online). */
const TAKE_RETRY_MS = 500;

/** Read-only stand-in for the absent queue of an idle session. */
const NO_MESSAGES: readonly Message[] = [];

export class Session {
  /** Created on first use: most idle clean sessions never subscribe. */
  private subs: Map<string, SubscriptionOptions> | null = null;
  /** A take from the store queue that failed is tried again by this timer. */
  private takeRetry: NodeJS.Timeout | null = null;
  will: Message | null = null;
  /** What the client may read and write (--acl-file); null: no ACL, everything allowed (and no cost). */
  acl: ClientAcl | null = null;
  /** Who the client is, as plugin hooks are told (set at CONNECT). */
  client: ClientInfo | null = null;
  /** v5 Will Delay Interval in seconds (0: publish at once). */
  willDelay = 0;
  /**
   * Whether the store may hold something of this session: false only for a clean start that never
   * stored a will and never became persistent, whose end then costs the store nothing.
   */
  stored = true;
  /** Outgoing QoS 1/2 messages sent and not yet acknowledged, by packet id (created on first use: idle sessions stay small). */
  private inflight: Map<number, InflightRecord> | null = null;
  /** QoS 1/2 messages waiting for a free slot in the window (delivery QoS/RETAIN already applied); created on first use. */
  private pending: Message[] | null = null;
  /** Index of the oldest message in pending (a queue of thousands is not shifted one by one). */
  private pendingHead = 0;
  /** queuedSize() summed over pending. */
  private pendingBytes = 0;
  /** Incoming QoS 2 packet ids answered with PUBREC and not yet released [v3:MQTT-4.3.3-2] [v5:MQTT-4.3.3-10] (created on first use). */
  private incoming: Set<number> | null = null;
  private nextId = 1;
  /**
   * True while the store queue may hold messages for this session (it was offline, its window was
   * full, or another node queued for it): new QoS 1/2 messages then go behind them, into the store
   * queue too, and free window slots are filled from it (takeQueued). A persistent session's backlog
   * lives only there, never only in this process.
   */
  private spilled = false;
  /** Counts messages put in the store queue: a take that comes back short means empty only if none went in meanwhile. */
  private spillCount = 0;
  /** A take from the store queue is under way (its packet ids count against the window). */
  private taking = 0;
  /** Set while the connection is up (CONNACK sent): only then are messages taken from the store queue. */
  online = false;
  /** The claim of the client id this session's connection holds: a take after a newer claim moves nothing. */
  epoch = 0;
  /** While set (a while after a resume or a forwarded-messages notice), second copies of a message are skipped. */
  private copies: RecentCopies | null = null;
  /** Frames waiting for the store to have the records they rest on (writeAfterStore), and every frame after them. */
  private held: Buffer[] | null = null;

  constructor(
    readonly clientId: string,
    /** Seconds the session outlives the connection; 0 = ends with it. */
    public expiryInterval: number,
    private readonly window: number,
    private readonly sink: SessionSink,
    private readonly deps: SessionDeps,
  ) {}

  /** The session's subscriptions, filter -> options (the map is created on first access). */
  get subscriptions(): Map<string, SubscriptionOptions> {
    return (this.subs ??= new Map());
  }

  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  get inflightCount(): number {
    return this.inflight === null ? 0 : this.inflight.size;
  }

  /** True while an incoming QoS 2 id awaits PUBREL. */
  hasIncomingQos2(messageId: number): boolean {
    return this.incoming !== null && this.incoming.has(messageId);
  }

  /** Incoming QoS 2 ids awaiting PUBREL (they count against the Receive Maximum). */
  get incomingQos2Count(): number {
    return this.incoming === null ? 0 : this.incoming.size;
  }

  /** Restores incoming QoS 2 ids of a resumed session (already in the store). */
  restoreIncomingQos2(ids: readonly number[]): void {
    if (ids.length > 0) this.incoming = new Set(ids);
  }

  get pendingCount(): number {
    return this.pending === null ? 0 : this.pending.length - this.pendingHead;
  }

  /** Hands over the messages still waiting behind the window (the connection is going away). */
  takePending(): readonly Message[] {
    const taken = this.pending;
    const head = this.pendingHead;
    this.pending = null;
    this.pendingHead = this.pendingBytes = 0;
    if (taken === null) return NO_MESSAGES;
    return head === 0 ? taken : taken.slice(head);
  }

  /** Sends one fanned-out message at the delivery QoS and RETAIN flag chosen by the broker. */
  deliver(fan: FanOut, qos: QoS, retain: boolean, subIds: number[] | undefined): void {
    // Never a message the client may not read, whatever filter matched it (a wildcard must not leak).
    if (this.acl !== null && !this.acl.canReadOnce(fan, fan.message.topic)) return;
    const sink = this.sink;
    if (qos === 0) {
      // QoS 0 to a consumer that is not reading is dropped, so its socket buffer stays bounded.
      if (sink.congested) {
        this.deps.drops.dropped(this.clientId, NOT_READING);
        return;
      }
      this.writePublish(this.frameOf(fan, subIds, 0, retain, false));
      return;
    }
    const m = fan.message;
    if (this.copies !== null && m.origin !== undefined && this.isCopy(m.origin.sender, m.origin.seq)) return;
    const message: Message = { topic: m.topic, payload: m.payload, qos, retain, properties: m.properties, expiresAt: m.expiresAt, origin: m.origin };
    if (subIds !== undefined) message.properties = { ...m.properties, subscriptionIdentifiers: subIds };
    if (this.mustQueue()) {
      this.queue(message, fan.awaited);
      return;
    }
    this.sendNew(message, fan, subIds);
  }

  /** Delivers a stored message (offline queue, retained on subscribe) through the window. */
  deliverMessage(message: Message): void {
    if (isExpired(message, Date.now())) return; // [MQTT-3.3.2-5]
    if (this.acl !== null && !this.acl.canRead(message.topic)) return;
    if (message.qos === 0) {
      if (this.sink.congested) {
        this.deps.drops.dropped(this.clientId, NOT_READING);
        return;
      }
      this.writePublish(this.frameOf(new FanOut(message, Date.now()), undefined, 0, message.retain, false));
      return;
    }
    if (this.mustQueue()) this.queue(message, false);
    else this.sendNew(message, new FanOut(message, Date.now()), undefined);
  }

  /** CONNACK is sent: from now on messages are taken from the store queue (resumed: it may hold some). */
  goOnline(resumed: boolean): void {
    this.online = true;
    if (resumed) this.spilled = true;
    this.pump();
  }

  /**
   * A resumed session: for a while, a message it has sent (or resends now) is not sent again when a
   * second copy arrives (directly and through the store queue, after a node's death).
   */
  watchCopies(): void {
    const now = Date.now();
    if (this.copies === null) this.copies = new RecentCopies(now);
    else this.copies.extend(now);
  }

  /** Another node put messages in this session's store queue, or it was offline: take them (once online). */
  queueChanged(): void {
    this.spilled = this.stored = true;
    this.watchCopies();
    this.pump();
  }

  /** Whether this origin was sent already while copies are watched (and forgets the watch once it is over). */
  private isCopy(sender: string, seq: number): boolean {
    const copies = this.copies!;
    if (!copies.active(Date.now())) {
      this.copies = null;
      return false;
    }
    return copies.has(sender, seq);
  }

  /** Whether a new QoS 1/2 message must wait behind others (the window is full, or older ones wait). */
  private mustQueue(): boolean {
    return this.spilled || this.pending !== null || this.inflightCount + this.taking >= this.window;
  }

  /** Resends what was in flight when the session was last connected, DUP set [MQTT-4.4.0-1]. */
  resume(inflight: readonly InflightRecord[]): void {
    if (inflight.length === 0) return;
    const map = (this.inflight ??= new Map());
    for (const record of inflight) {
      map.set(record.messageId, record);
      const origin = record.message.origin;
      if (this.copies !== null && origin !== undefined) this.copies.add(origin.sender, origin.seq);
      if (record.state === 'pubrel') {
        this.sink.write(encode({ cmd: 'pubrel', messageId: record.messageId }, this.sink.version));
      } else {
        this.writePublish(this.frameOf(new FanOut(record.message, Date.now()), undefined, record.message.qos, record.message.retain, true, record.messageId));
      }
    }
  }

  /**
   * The acknowledgement an outgoing packet id waits for: PUBACK (QoS 1), PUBREC (QoS 2, PUBLISH
   * sent), PUBCOMP (QoS 2, PUBREL sent); undefined for an id not in flight.
   */
  awaiting(messageId: number): 'puback' | 'pubrec' | 'pubcomp' | undefined {
    const record = this.inflight?.get(messageId);
    if (record === undefined) return undefined;
    if (record.state === 'pubrel') return 'pubcomp';
    return record.message.qos === 1 ? 'puback' : 'pubrec';
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) ends a delivery; v5 PUBREC with an error code too. */
  acknowledge(messageId: number): boolean {
    if (this.inflight === null || !this.inflight.delete(messageId)) return false;
    if (this.inflight.size === 0) this.inflight = null;
    if (this.persistent) this.deps.store.deleteInflight(this.clientId, messageId);
    this.pump();
    return true;
  }

  /** PUBREC: the message is delivered; keep the id until PUBCOMP. Returns false for an unknown id. */
  received(messageId: number): boolean {
    const record = this.inflight?.get(messageId);
    if (record === undefined || this.inflight === null) return false;
    if (record.state !== 'pubrel') {
      const next: InflightRecord = { messageId, state: 'pubrel', message: record.message };
      this.inflight.set(messageId, next);
      if (this.persistent) this.deps.store.putInflight(this.clientId, next);
    }
    return true;
  }

  addIncomingQos2(messageId: number): void {
    (this.incoming ??= new Set()).add(messageId);
    if (this.persistent) this.deps.store.addIncomingQos2(this.clientId, messageId);
  }

  releaseIncomingQos2(messageId: number): boolean {
    if (this.incoming === null || !this.incoming.delete(messageId)) return false;
    if (this.incoming.size === 0) this.incoming = null;
    if (this.persistent) this.deps.store.removeIncomingQos2(this.clientId, messageId);
    return true;
  }

  /** Behind the window: a persistent session's message goes to the store queue, a clean session's stays here. */
  private queue(message: Message, awaited: boolean): void {
    if (this.persistent || this.spilled) {
      this.spill(message, awaited);
      return;
    }
    const { limits } = this.deps;
    const size = queuedSize(message);
    if (this.pendingCount >= limits.messages || (limits.bytes > 0 && this.pendingBytes + size > limits.bytes)) {
      this.deps.drops.dropped(this.clientId, 'queue full', { maxQueued: limits.messages, maxQueuedBytes: limits.bytes });
      return;
    }
    (this.pending ??= []).push(message);
    this.pendingBytes += size;
  }

  /** awaited: the publisher's acknowledgement waits for this write (FanOut.awaited). */
  private spill(message: Message, awaited: boolean): void {
    const deps = this.deps;
    this.spilled = this.stored = true;
    this.spillCount++;
    deps.writes.count++;
    void deps.queue.write(this.clientId, ownPayload(message), { awaited });
  }

  /** Fills free window slots from the store queue: one take at a time, with the packet ids it will use. */
  private take(): void {
    const free = this.window - this.inflightCount;
    if (free <= 0 || this.taking > 0 || !this.online) return;
    const ids: number[] = [];
    for (let i = 0; i < free; i++) ids.push(this.allocateId());
    this.taking = ids.length;
    const mark = this.spillCount;
    this.deps.store.takeQueued(this.clientId, ids, this.epoch).then(
      (records) => this.took(records, ids.length, mark),
      (err: unknown) => {
        this.taking = 0;
        // Retried on the next acknowledgement, queue notice or resume, and after a while: a client
        // with nothing in flight and nothing new coming would otherwise wait for its queue until
        // it reconnects (the store failed over meanwhile, say).
        if (this.takeRetry === null) {
          this.deps.log.error({ err, clientId: this.clientId }, 'could not take queued messages for a client; they stay queued and are taken again shortly');
          this.takeRetry = setTimeout(() => {
            this.takeRetry = null;
            this.take();
          }, TAKE_RETRY_MS);
          this.takeRetry.unref();
        }
      },
    );
  }

  private took(records: readonly InflightRecord[], asked: number, mark: number): void {
    this.taking = 0;
    const now = Date.now();
    for (const record of records) {
      const message = record.message;
      // In the store's in-flight records already: a resume resends them if this connection ends. A
      // clean session (queued for while it connected) keeps no store records: it ends with its connection.
      (this.inflight ??= new Map()).set(record.messageId, record);
      if (!this.persistent) this.deps.store.deleteInflight(this.clientId, record.messageId);
      const origin = message.origin;
      const copy = this.copies !== null && origin !== undefined && this.isCopy(origin.sender, origin.seq);
      if (copy) this.deps.counters.duplicatesSkipped++;
      else if (this.copies !== null && origin !== undefined) this.copies.add(origin.sender, origin.seq);
      const denied = this.acl !== null && !this.acl.canRead(message.topic);
      const frame = copy || denied || isExpired(message, now) ? null : this.frameOf(new FanOut(message, now), undefined, message.qos, message.retain, false, record.messageId);
      if (frame === null || frame.length > this.sink.maxPacketSize) {
        if (frame !== null) this.deps.drops.dropped(this.clientId, TOO_LARGE);
        this.inflight.delete(record.messageId);
        this.deps.store.deleteInflight(this.clientId, record.messageId);
        continue;
      }
      this.writePublish(frame);
    }
    if (this.inflight?.size === 0) this.inflight = null;
    // Short of what was asked, with nothing queued since the take: the store queue is empty.
    if (records.length < asked && this.spillCount === mark) this.spilled = false;
    this.pump();
  }

  /** Moves queued messages into free window slots. */
  private pump(): void {
    const now = Date.now();
    while (this.inflightCount < this.window && this.pending !== null) {
      const pending = this.pending;
      const message = pending[this.pendingHead] as Message;
      pending[this.pendingHead++] = undefined as unknown as Message; // let it go
      this.pendingBytes -= queuedSize(message);
      if (this.pendingHead === pending.length) {
        this.pending = null;
        this.pendingHead = this.pendingBytes = 0;
      } else if (this.pendingHead >= 1024 && this.pendingHead * 2 >= pending.length) {
        pending.splice(0, this.pendingHead);
        this.pendingHead = 0;
      }
      if (isExpired(message, now)) continue;
      this.sendNew(message, new FanOut(message, now), undefined);
    }
    if (this.spilled) this.take();
  }

  private sendNew(message: Message, fan: FanOut, subIds: number[] | undefined): void {
    const messageId = this.allocateId();
    const frame = this.frameOf(fan, subIds, message.qos, message.retain, false, messageId);
    if (frame.length > this.sink.maxPacketSize) {
      this.deps.drops.dropped(this.clientId, TOO_LARGE); // [v5:MQTT-3.1.2-25]
      return;
    }
    const record: InflightRecord = { messageId, state: 'publish', message };
    if (this.copies !== null && message.origin !== undefined) this.copies.add(message.origin.sender, message.origin.seq);
    (this.inflight ??= new Map()).set(messageId, record);
    if (this.persistent) {
      this.deps.writes.count++;
      this.deps.store.putInflight(this.clientId, record);
    }
    this.writePublish(frame, message.qos === 2);
  }

  /** The shared fan-out frame, or one of this client's own when it takes topic aliases. */
  private frameOf(fan: FanOut, subIds: number[] | undefined, qos: QoS, retain: boolean, dup: boolean, messageId?: number): Buffer {
    const aliases = this.sink.outgoingAliases;
    if (aliases === null) return fan.prepared(this.sink.version, subIds).frame(qos, retain, dup, messageId);
    return aliases.frame(fan, subIds, qos, retain, dup, messageId, this.sink.maxPacketSize);
  }

  private writePublish(frame: Buffer, afterStore = false): void {
    if (frame.length > this.sink.maxPacketSize) {
      this.deps.drops.dropped(this.clientId, TOO_LARGE); // [v5:MQTT-3.1.2-25]
      return;
    }
    const counters = this.deps.counters;
    counters.messagesSent++;
    counters.sentByQos[(frame[0]! >> 1) & 3]++; // the QoS bits of the PUBLISH's first byte
    if (afterStore) this.writeAfterStore(frame);
    else if (this.held !== null) this.held.push(frame);
    else this.sink.write(frame);
  }

  /**
   * Writes a packet once the store has the record it rests on (every write issued so far), when
   * another process may resume this session: a QoS 2 PUBLISH (else a resume that lacks the record
   * could deliver the message again as new), PUBREL, PUBCOMP. Later frames wait behind it (order).
   */
  writeAfterStore(frame: Buffer): void {
    if (this.held !== null) {
      this.held.push(frame);
      return;
    }
    const store = this.deps.store;
    if (store.sharedAcrossProcesses !== true || !this.persistent) {
      this.sink.write(frame);
      return;
    }
    this.held = [frame];
    const release = (): void => {
      const held = this.held ?? [];
      this.held = null;
      for (const f of held) this.sink.write(f);
    };
    store.flush().then(release, (err: unknown) => {
      this.deps.log.warn({ err, clientId: this.clientId }, 'store write failed before a QoS 2 packet; sending it anyway');
      release();
    });
  }

  /** Next packet id in 1..65535 not in use by an unacknowledged message [v3:MQTT-2.3.1-4] [v5:MQTT-2.2.1-4]. */
  private allocateId(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      const id = this.nextId;
      this.nextId = id === 65_535 ? 1 : id + 1;
      if (this.inflight === null || !this.inflight.has(id)) return id;
    }
    throw new Error('no free packet identifier'); // unreachable: the window is far below 65535
  }
}
