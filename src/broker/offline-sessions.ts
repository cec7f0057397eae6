// Persistent sessions this node owns while their clients are offline: the claim's epoch, the
// filters still in the local index (messages for them go to the store queue), and the v5 Session
// Expiry timer (any length up to 2^32-2 s: long-timer.ts). A reconnect anywhere takes the session
// back (take); expiry ends it (onExpired).
import { setLongTimeout, type LongTimeout } from './long-timer.js';

export interface OfflineSession {
  epoch: number;
  filters: string[];
  expiryTimer: LongTimeout | null;
}

/** Session Expiry Interval 0xFFFFFFFF: the session does not expire (5.0 §3.1.2.11.2). */
const NEVER_EXPIRES = 0xffff_ffff;

export class OfflineSessions {
  private readonly parked = new Map<string, OfflineSession>();

  constructor(private readonly onExpired: (clientId: string, session: OfflineSession) => void) {}

  get size(): number {
    return this.parked.size;
  }

  /** Parks clientId's session until it is taken back or its expiry interval (seconds) elapses. */
  park(clientId: string, epoch: number, filters: string[], expiryInterval: number): void {
    const entry: OfflineSession = { epoch, filters, expiryTimer: null };
    if (expiryInterval !== NEVER_EXPIRES) {
      entry.expiryTimer = setLongTimeout(() => this.expire(clientId, entry), expiryInterval * 1000);
    }
    this.parked.set(clientId, entry);
  }

  /** The client is back (here or on another node): the session is no longer parked here. */
  take(clientId: string): OfflineSession | undefined {
    const entry = this.parked.get(clientId);
    if (entry === undefined) return undefined;
    this.parked.delete(clientId);
    entry.expiryTimer?.clear();
    return entry;
  }

  /** Shutdown: the timers stop; the sessions stay in the store. */
  close(): void {
    for (const entry of this.parked.values()) entry.expiryTimer?.clear();
  }

  private expire(clientId: string, entry: OfflineSession): void {
    if (this.parked.get(clientId) !== entry) return;
    this.parked.delete(clientId);
    this.onExpired(clientId, entry);
  }
}
