// SessionStore over Redis. Every key of a client is listed in keys.ts; writes are single
// commands or Lua scripts on one connection, written in issue order.
//
// Session expiry: the core runs the expiry timers and calls delete(), as with the memory store.
// As a safety net for sessions whose node died, ownership.release() (the connection ended) sets
// a Redis TTL of the session's expiry interval on its keys, and save() (a connection took the
// session again) removes it with PERSIST. An expired session is simply gone: load() sees no
// {p}session:{cid} and returns null.
import type { RedisConn } from './connection.js';
import { type InflightRecord, type Message, type QueueLimits, type ReplayOrigin, type SessionRecord, type SessionStore, type SubscriptionOptions } from '../types.js';
import { decodeInflight, decodeMessage, decodeSubscriptionOptions, encodeInflight, encodeMessage, encodeSubscriptionOptions } from './codec.js';
import type { RedisKeys } from './keys.js';
import type { ReplicaWait } from './replica-wait.js';
import { storeScripts, type StoreScripts } from './scripts.js';
import { WriteTracker } from './write-tracker.js';

/** A will as stored for dead-node recovery (node-recovery.ts takes it atomically; loadWill reads it). */
export interface StoredWill {
  message: Message;
  delaySeconds: number;
  /** The node whose connection set it. */
  nodeId: string;
}

export class RedisSessionStore implements SessionStore {
  /** Another process (a node that adopts or resumes a session) may read what this one wrote. */
  readonly sharedAcrossProcesses = true;
  private readonly scripts: StoreScripts;
  private readonly writes: WriteTracker;

  constructor(
    private readonly redis: RedisConn,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly replicas: ReplicaWait | null = null,
  ) {
    this.scripts = storeScripts(redis);
    this.writes = new WriteTracker(redis, undefined, replicas);
  }

  /** Every write of a session is in its client's slot: its session key names the master. */
  private track(clientId: string, write: Promise<unknown>): void {
    this.writes.track(write, this.keys.session(clientId));
  }

  async load(clientId: string): Promise<SessionRecord | null> {
    const [[expiry, offlineAt], subs] = await Promise.all([this.redis.hmget(this.keys.session(clientId), 'expiry', 'offlineAt'), this.redis.hgetallBuffer(this.keys.subs(clientId))]);
    if (expiry === null || expiry === undefined) return null;
    const subscriptions = new Map<string, SubscriptionOptions>();
    for (const [filter, options] of Object.entries(subs)) subscriptions.set(filter, decodeSubscriptionOptions(options));
    const record: SessionRecord = { clientId, expiryInterval: Number(expiry), subscriptions };
    if (offlineAt !== null && offlineAt !== undefined) record.offlineAt = Number(offlineAt);
    return record;
  }

  save(clientId: string, expiryInterval: number): void {
    // One script: the metadata, and PERSIST so a session taken up again does not expire under its new connection.
    this.track(clientId, this.scripts.saveSession(this.keys.sessionKeys(clientId), expiryInterval, Date.now()));
  }

  parked(clientId: string, at: number): void {
    // On an existing session only: one deleted meanwhile is not brought back as a hash without its expiry.
    this.track(clientId, this.scripts.parked(this.keys.session(clientId), at));
  }

  delete(clientId: string): void {
    // One DEL of every key: atomic, no MULTI needed.
    this.track(clientId, this.redis.del(...this.keys.sessionKeys(clientId)));
  }

  addSubscriptions(clientId: string, subs: ReadonlyArray<readonly [filter: string, options: SubscriptionOptions]>): void {
    if (subs.length === 0) return;
    const args: Array<string | Buffer> = [];
    for (const [filter, options] of subs) args.push(filter, encodeSubscriptionOptions(options));
    this.track(clientId, this.redis.hset(this.keys.subs(clientId), ...args));
  }

  removeSubscriptions(clientId: string, filters: readonly string[]): void {
    if (filters.length === 0) return;
    this.track(clientId, this.redis.hdel(this.keys.subs(clientId), ...filters));
  }

  async enqueue(clientId: string, message: Message, limits: QueueLimits, origin?: ReplayOrigin, durable = false): Promise<boolean> {
    const k = this.keys;
    const encoded = encodeMessage(message);
    // Counted as stored (the encoding: topic, payload, a few header bytes), so the script can give it back on take.
    const taken = origin === undefined ? undefined : takenField(origin.holder, origin.sender);
    // Recorded only when this node is the holder (its session took it); a replay for another node only checks.
    const own = origin !== undefined && origin.holder === this.nodeId;
    const record = origin?.unheard === true ? (own ? 2 : 3) : own ? 1 : 0;
    const failedBefore = durable ? this.replicas?.failed : undefined;
    const reply = this.scripts.enqueueCapped(k.queue(clientId), k.session(clientId), k.inflight(clientId), limits.messages, limits.bytes, encoded, encoded.length, taken, origin?.seq, record);
    this.track(clientId, reply); // flush() covers it too (a PUBACK waits for it)
    const kept = (await reply) !== 0;
    // Written: a WAIT sent now on the master's connection covers it (shared with this turn's flushes).
    if (durable && this.replicas !== null) await this.replicas.sync(failedBefore);
    return kept;
  }

  async takeQueued(clientId: string, ids: readonly number[], epoch: number): Promise<InflightRecord[]> {
    const k = this.keys;
    const records = await this.scripts.takeQueued(k.queue(clientId), k.session(clientId), k.inflight(clientId), k.inflightOrder(clientId), k.owner(clientId), epoch, ids);
    return records.map(decodeInflight);
  }

  async drainQueue(clientId: string): Promise<Message[]> {
    const encoded = await this.scripts.drainQueue(this.keys.queue(clientId), this.keys.session(clientId));
    return encoded.map(decodeMessage);
  }

  queueLength(clientId: string): Promise<number> {
    return this.redis.llen(this.keys.queue(clientId));
  }

  putInflight(clientId: string, record: InflightRecord): void {
    const origin = record.message.origin;
    const taken = origin === undefined ? undefined : takenField(this.nodeId, origin.sender);
    this.track(clientId, this.scripts.putInflight(this.keys.inflight(clientId), this.keys.inflightOrder(clientId), record.messageId, encodeInflight(record), taken, origin?.seq));
  }

  deleteInflight(clientId: string, messageId: number): void {
    this.track(clientId, this.scripts.deleteInflight(this.keys.inflight(clientId), this.keys.inflightOrder(clientId), messageId));
  }

  async loadInflight(clientId: string): Promise<InflightRecord[]> {
    const encoded = await this.scripts.loadInflight(this.keys.inflight(clientId), this.keys.inflightOrder(clientId));
    return encoded.map(decodeInflight);
  }

  addIncomingQos2(clientId: string, messageId: number): void {
    this.track(clientId, this.redis.sadd(this.keys.qos2(clientId), String(messageId)));
  }

  removeIncomingQos2(clientId: string, messageId: number): void {
    this.track(clientId, this.redis.srem(this.keys.qos2(clientId), String(messageId)));
  }

  async loadIncomingQos2(clientId: string): Promise<number[]> {
    return (await this.redis.smembers(this.keys.qos2(clientId))).map(Number);
  }

  setWill(clientId: string, will: Message | null, delaySeconds = 0): void {
    const key = this.keys.will(clientId);
    if (will === null) this.track(clientId, this.redis.del(key));
    else this.track(clientId, this.redis.hset(key, 'msg', encodeMessage(will), 'delay', delaySeconds, 'node', this.nodeId));
  }

  /** The stored will of clientId, for dead-node recovery (not part of SessionStore). */
  async loadWill(clientId: string): Promise<StoredWill | null> {
    const [msg, delay, node] = await this.redis.hmgetBuffer(this.keys.will(clientId), 'msg', 'delay', 'node');
    if (msg === null || msg === undefined) return null;
    return { message: decodeMessage(msg), delaySeconds: Number(delay?.toString() ?? 0), nodeId: node?.toString() ?? '' };
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }
}

/** The inflight-hash field holding the highest sequence from sender a session took on holder ('~': never a packet id). */
function takenField(holder: string, sender: string): string {
  return `~${holder}\0${sender}`;
}
