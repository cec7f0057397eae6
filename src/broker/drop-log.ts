// Messages dropped for a client (queue full, or too large for it): counted in
// $SYS/broker/publish/messages/dropped, and logged per client at most once per interval with the
// number dropped since the last line, so a burst of drops is one line, not thousands.
import type { Logger } from '../log.js';
import type { BrokerCounters } from './stats.js';

const LOG_INTERVAL_MS = 10_000;

export class DropLog {
  /** clientId -> drops not yet logged, and when this client's last line went out. */
  private readonly clients = new Map<string, { unlogged: number; loggedAt: number }>();

  constructor(
    private readonly counters: BrokerCounters,
    private readonly log: Logger,
    private readonly intervalMs = LOG_INTERVAL_MS,
  ) {}

  /** One message for clientId dropped because of `reason`. */
  dropped(clientId: string, reason: string, details?: Record<string, unknown>): void {
    this.counters.messagesDropped++;
    const now = Date.now();
    let entry = this.clients.get(clientId);
    if (entry === undefined) {
      // Forget clients whose last line is old, so the map does not grow with every client ever seen.
      if (this.clients.size > 1000) for (const [id, e] of this.clients) if (now - e.loggedAt > this.intervalMs && e.unlogged === 0) this.clients.delete(id);
      entry = { unlogged: 0, loggedAt: 0 };
      this.clients.set(clientId, entry);
    }
    entry.unlogged++;
    if (now - entry.loggedAt < this.intervalMs) return;
    this.log.warn({ clientId, dropped: entry.unlogged, reason, ...details }, `dropped messages for a client: ${reason}`);
    entry.unlogged = 0;
    entry.loggedAt = now;
  }
}
