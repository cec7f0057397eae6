// Messages dropped for a client (queue full, or too large for it, or QoS 0 to a client that does
// not read): counted in $SYS/broker/publish/messages/dropped, and logged per client: the first drop
// at once, then one line per interval with the number dropped since, so a burst of drops is a few
// lines, not thousands. One shared timer (only while some client is dropping) writes the lines of
// the interval and forgets the clients that were quiet through it, so every drop is logged in the
// end and the bookkeeping holds only the clients dropping now.
import type { Logger } from '../log.js';
import type { BrokerCounters } from './stats.js';

const LOG_INTERVAL_MS = 10_000;

interface Dropping {
  /** Drops since this client's last line. */
  unlogged: number;
  /** The reason and details of the latest of them (a line names one reason, and counts them all). */
  reason: string;
  details: Record<string, unknown> | undefined;
}

export class DropLog {
  private readonly clients = new Map<string, Dropping>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly counters: BrokerCounters,
    private readonly log: Logger,
    private readonly intervalMs = LOG_INTERVAL_MS,
  ) {}

  /** One message for clientId dropped because of `reason`. */
  dropped(clientId: string, reason: string, details?: Record<string, unknown>): void {
    this.counters.drop(reason);
    const entry = this.clients.get(clientId);
    if (entry !== undefined) {
      entry.unlogged++;
      entry.reason = reason;
      entry.details = details;
      return;
    }
    // The first drop after a quiet interval: said at once.
    this.write(clientId, 1, reason, details);
    this.clients.set(clientId, { unlogged: 0, reason, details });
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops the timer after writing what is not written yet (shutdown). */
  close(): void {
    this.tick();
    this.tick();
  }

  private tick(): void {
    for (const [clientId, entry] of this.clients) {
      if (entry.unlogged === 0) {
        this.clients.delete(clientId); // quiet for a whole interval
        continue;
      }
      this.write(clientId, entry.unlogged, entry.reason, entry.details);
      entry.unlogged = 0;
    }
    if (this.clients.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private write(clientId: string, dropped: number, reason: string, details: Record<string, unknown> | undefined): void {
    this.log.warn({ clientId, dropped, reason, ...details }, `dropped messages for a client: ${reason}`);
  }
}
