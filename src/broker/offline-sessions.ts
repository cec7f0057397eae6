// Sessions this node keeps in its subscription index while no connection of its own holds them:
//
// - parked: a persistent session owned here whose client is offline (it disconnected here, or
//   this node adopted it from a dead node). Messages for it go to the store queue. The v5 Session
//   Expiry timer runs here (any length up to 2^32-2 s: long-timer.ts); a reconnect anywhere takes
//   the session back (take), expiry ends it (onExpired).
// - bridge: the client is back on ANOTHER node (or was claimed away from a dead node). Until that
//   node's routes are in effect everywhere, senders may still route its messages here: for a short
//   while they go to the store queue too and the holder is told to take them (a QUEUED notice).
//   The holder skips a second copy of a message it got directly (recent-copies.ts).
//
// The subscriptions are the session's own map (filter -> options, with the time each began, which
// a replay of a dead node's messages needs: broker.ts replay).
import type { SubscriptionOptions } from '../store/types.js';
import type { ClientAcl } from './acl/acl.js';
import type { ClientInfo } from './hooks/types.js';
import { setLongTimeout, type LongTimeout } from './long-timer.js';

export interface OfflineSession {
  epoch: number;
  subscriptions: ReadonlyMap<string, SubscriptionOptions>;
  mode: 'parked' | 'bridge';
  /** The client's ACL view, for a reload to find the subscriptions it no longer allows (parked here; null: unknown or no ACL). */
  acl: ClientAcl | null;
  /** Who the client was when it last connected here, for plugin hooks (null: unknown, e.g. adopted from a dead node). */
  client: ClientInfo | null;
  /** Session expiry (parked) or the end of the bridge. */
  timer: LongTimeout | null;
}

/** Session Expiry Interval 0xFFFFFFFF: the session does not expire (5.0 §3.1.2.11.2). */
const NEVER_EXPIRES = 0xffff_ffff;

export class OfflineSessions {
  private readonly entries = new Map<string, OfflineSession>();
  private bridges = 0;

  constructor(
    private readonly onExpired: (clientId: string, session: OfflineSession) => void,
    private readonly onBridgeEnd: (clientId: string, session: OfflineSession) => void,
  ) {}

  /** Parked sessions (bridges are not this node's sessions). */
  get size(): number {
    return this.entries.size - this.bridges;
  }

  /** Bridges open now: while there are any, locally published messages are numbered (broker.ts). */
  get bridgeCount(): number {
    return this.bridges;
  }

  /** The sessions parked here, by client id. */
  *parked(): IterableIterator<[string, OfflineSession]> {
    for (const item of this.entries) if (item[1].mode === 'parked') yield item;
  }

  get(clientId: string): OfflineSession | undefined {
    return this.entries.get(clientId);
  }

  /**
   * Parks clientId's session until it is taken back or its expiry interval (seconds) elapses; or,
   * given remainingMs (a session adopted from a dead node, offline there already), what is left of it.
   */
  park(clientId: string, epoch: number, subscriptions: ReadonlyMap<string, SubscriptionOptions>, expiryInterval: number, remainingMs?: number, acl: ClientAcl | null = null, client: ClientInfo | null = null): void {
    this.take(clientId);
    const entry: OfflineSession = { epoch, subscriptions, mode: 'parked', timer: null, acl, client };
    if (expiryInterval !== NEVER_EXPIRES) entry.timer = setLongTimeout(() => this.ended(clientId, entry, this.onExpired), remainingMs ?? expiryInterval * 1000);
    this.entries.set(clientId, entry);
  }

  /**
   * Makes clientId's entry a bridge that ends ms from now (a parked session whose client came back
   * elsewhere), or opens one with these subscriptions (a client claimed away from a dead node).
   * Returns the entry when it is new, so the caller indexes its subscriptions.
   */
  bridge(clientId: string, ms: number, subscriptions?: ReadonlyMap<string, SubscriptionOptions>): OfflineSession | undefined {
    let entry = this.entries.get(clientId);
    const created = entry === undefined;
    if (entry === undefined) {
      if (subscriptions === undefined) return undefined;
      entry = { epoch: 0, subscriptions, mode: 'bridge', timer: null, acl: null, client: null };
      this.entries.set(clientId, entry);
      this.bridges++;
    } else if (entry.mode === 'parked') {
      entry.mode = 'bridge';
      this.bridges++;
    }
    entry.timer?.clear();
    const bridged = entry;
    entry.timer = setLongTimeout(() => this.ended(clientId, bridged, this.onBridgeEnd), ms);
    return created ? entry : undefined;
  }

  /** The client is back on this node (or the session ends): the entry is removed and returned. */
  take(clientId: string): OfflineSession | undefined {
    const entry = this.entries.get(clientId);
    if (entry === undefined) return undefined;
    this.remove(clientId, entry);
    return entry;
  }

  /** Shutdown: the timers stop; the sessions stay in the store. */
  close(): void {
    for (const entry of this.entries.values()) entry.timer?.clear();
  }

  private ended(clientId: string, entry: OfflineSession, then: (clientId: string, session: OfflineSession) => void): void {
    if (this.entries.get(clientId) !== entry) return;
    this.remove(clientId, entry);
    then(clientId, entry);
  }

  private remove(clientId: string, entry: OfflineSession): void {
    this.entries.delete(clientId);
    if (entry.mode === 'bridge') this.bridges--;
    entry.timer?.clear();
  }
}
