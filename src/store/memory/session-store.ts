// Sessions of a single process. Writes apply synchronously, so flush() has nothing to wait for.
//
// Expiry is not enforced here: the core runs the expiry timers and calls delete(). load()
// therefore returns whatever was last saved until it is deleted.
import { queuedSize, type InflightRecord, type Message, type QueueLimits, type ReplayOrigin, type SessionRecord, type SessionStore, type SubscriptionOptions } from '../types.js';

/** One client's state. Collections are created on first use so an idle session stays small. */
interface SessionState {
  /** False until save(): writes that arrive first (e.g. subscriptions) are kept, but load() sees no session. */
  saved: boolean;
  expiryInterval: number;
  /** Set by parked(), cleared by save() (the client is back). */
  offlineAt: number | undefined;
  subscriptions: Map<string, SubscriptionOptions> | null;
  queue: Message[] | null;
  /** queuedSize() summed over queue. */
  queueBytes: number;
  /** Highest sequence taken per "holder\0sender" (see ReplayOrigin); created on first use. */
  taken: Map<string, number> | null;
  /** Keyed by message id; Map order is first-put order, which a re-put keeps. */
  inflight: Map<number, InflightRecord> | null;
  incomingQos2: Set<number> | null;
  will: { message: Message; delaySeconds: number } | null;
}

const resolved = Promise.resolve();

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionState>();

  /** holder: the node this store's sessions are held on (what putInflight records as taken there). */
  constructor(private readonly holder = 'local') {}

  load(clientId: string): Promise<SessionRecord | null> {
    const state = this.sessions.get(clientId);
    if (state === undefined || !state.saved) return Promise.resolve(null);
    // A copy: the caller may change its map without touching the stored one (as with Redis).
    const subscriptions = new Map(state.subscriptions ?? []);
    const record: SessionRecord = { clientId, expiryInterval: state.expiryInterval, subscriptions };
    if (state.offlineAt !== undefined) record.offlineAt = state.offlineAt;
    return Promise.resolve(record);
  }

  save(clientId: string, expiryInterval: number): void {
    const state = this.state(clientId);
    state.saved = true;
    state.expiryInterval = expiryInterval;
    state.offlineAt = undefined;
  }

  parked(clientId: string, at: number): void {
    const state = this.sessions.get(clientId);
    if (state !== undefined && state.saved) state.offlineAt = at;
  }

  delete(clientId: string): void {
    this.sessions.delete(clientId);
  }

  addSubscriptions(clientId: string, subs: ReadonlyArray<readonly [filter: string, options: SubscriptionOptions]>): void {
    const state = this.state(clientId);
    state.subscriptions ??= new Map();
    for (const [filter, options] of subs) state.subscriptions.set(filter, options);
  }

  removeSubscriptions(clientId: string, filters: readonly string[]): void {
    const state = this.sessions.get(clientId);
    if (state?.subscriptions == null) return;
    for (const filter of filters) state.subscriptions.delete(filter);
    if (state.subscriptions.size === 0) state.subscriptions = null;
  }

  enqueue(clientId: string, message: Message, limits: QueueLimits, origin?: ReplayOrigin): Promise<boolean> {
    const state = this.state(clientId);
    const mark = origin !== undefined ? `${origin.holder}\0${origin.sender}` : undefined;
    if (mark !== undefined && origin!.unheard !== true && (state.taken?.get(mark) ?? -1) >= origin!.seq) return Promise.resolve(true); // taken already
    const size = queuedSize(message);
    const length = state.queue?.length ?? 0;
    if (length >= limits.messages || (limits.bytes > 0 && state.queueBytes + size > limits.bytes)) return Promise.resolve(false);
    (state.queue ??= []).push(message);
    state.queueBytes += size;
    // Recorded only for this store's own holder (a replay for another node only checks).
    if (mark !== undefined && origin!.holder === this.holder && (state.taken?.get(mark) ?? -1) < origin!.seq) (state.taken ??= new Map()).set(mark, origin!.seq);
    return Promise.resolve(true);
  }

  drainQueue(clientId: string): Promise<Message[]> {
    const state = this.sessions.get(clientId);
    const queue = state?.queue ?? [];
    if (state !== undefined) {
      state.queue = null;
      state.queueBytes = 0;
    }
    return Promise.resolve(queue);
  }

  takeQueued(clientId: string, ids: readonly number[], _epoch: number): Promise<InflightRecord[]> {
    const state = this.sessions.get(clientId);
    const queue = state?.queue;
    if (state === undefined || queue == null) return Promise.resolve([]);
    const taken = queue.splice(0, ids.length);
    if (queue.length === 0) state.queue = null;
    const records: InflightRecord[] = [];
    state.inflight ??= new Map();
    for (let i = 0; i < taken.length; i++) {
      const message = taken[i]!;
      state.queueBytes -= queuedSize(message);
      const record: InflightRecord = { messageId: ids[i]!, state: 'publish', message };
      state.inflight.set(record.messageId, record);
      records.push(record);
    }
    if (state.queue === null) state.queueBytes = 0;
    return Promise.resolve(records);
  }

  queueLength(clientId: string): Promise<number> {
    return Promise.resolve(this.sessions.get(clientId)?.queue?.length ?? 0);
  }

  putInflight(clientId: string, record: InflightRecord): void {
    const state = this.state(clientId);
    state.inflight ??= new Map();
    state.inflight.set(record.messageId, record);
    const origin = record.message.origin;
    if (origin !== undefined) {
      const mark = `${this.holder}\0${origin.sender}`;
      const taken = (state.taken ??= new Map());
      if ((taken.get(mark) ?? -1) < origin.seq) taken.set(mark, origin.seq);
    }
  }

  deleteInflight(clientId: string, messageId: number): void {
    const state = this.sessions.get(clientId);
    if (state?.inflight == null) return;
    state.inflight.delete(messageId);
    if (state.inflight.size === 0) state.inflight = null; // idle sessions hold no empty maps
  }

  loadInflight(clientId: string): Promise<InflightRecord[]> {
    return Promise.resolve([...(this.sessions.get(clientId)?.inflight?.values() ?? [])]);
  }

  addIncomingQos2(clientId: string, messageId: number): void {
    const state = this.state(clientId);
    state.incomingQos2 ??= new Set();
    state.incomingQos2.add(messageId);
  }

  removeIncomingQos2(clientId: string, messageId: number): void {
    const state = this.sessions.get(clientId);
    if (state?.incomingQos2 == null) return;
    state.incomingQos2.delete(messageId);
    if (state.incomingQos2.size === 0) state.incomingQos2 = null;
  }

  loadIncomingQos2(clientId: string): Promise<number[]> {
    return Promise.resolve([...(this.sessions.get(clientId)?.incomingQos2 ?? [])]);
  }

  setWill(clientId: string, will: Message | null, delaySeconds = 0): void {
    if (will === null) {
      const state = this.sessions.get(clientId);
      if (state !== undefined) state.will = null;
      return;
    }
    this.state(clientId).will = { message: will, delaySeconds };
  }

  /** The stored will (memory only, not part of SessionStore: one process has no other node to publish it). */
  willOf(clientId: string): { message: Message; delaySeconds: number } | null {
    return this.sessions.get(clientId)?.will ?? null;
  }

  flush(): Promise<void> {
    return resolved;
  }

  private state(clientId: string): SessionState {
    let state = this.sessions.get(clientId);
    if (state === undefined) {
      state = { saved: false, expiryInterval: 0, offlineAt: undefined, subscriptions: null, queue: null, queueBytes: 0, taken: null, inflight: null, incomingQos2: null, will: null };
      this.sessions.set(clientId, state);
    }
    return state;
  }
}
