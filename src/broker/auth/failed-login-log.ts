// Failed logins in the log, per remote address: the first at once, then one line per interval with
// the number of failures since and the last client id and user name tried (never a password), so
// a password-guessing run is a line a minute, not one per guess. One shared timer, running only
// while some address is failing, writes the interval's lines and forgets the addresses that were
// quiet through it (the pattern of drop-log.ts). At most maxAddresses are named in an interval;
// failures from further ones are summed in one line, so a spray from many addresses cannot grow
// the bookkeeping without bound.
import type { Logger } from '../../log.js';

export const LOG_INTERVAL_MS = 60_000;
const MAX_ADDRESSES = 10_000;

/** Who a failed login claimed to be. */
export interface LoginAttempt {
  clientId: string;
  username: string | undefined;
}

interface Failing {
  /** Failures since this address' last line. */
  unlogged: number;
  /** The latest attempt, and how long its refusal was held. */
  attempt: LoginAttempt;
  delayMs: number;
}

export class FailedLoginLog {
  private readonly addresses = new Map<string, Failing>();
  /** Failures this interval from addresses beyond maxAddresses (summed, not named). */
  private untracked = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = LOG_INTERVAL_MS,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  /** A login from address failed; its refusal is held delayMs. */
  failed(address: string, attempt: LoginAttempt, delayMs: number): void {
    const entry = this.addresses.get(address);
    if (entry !== undefined) {
      entry.unlogged++;
      entry.attempt = attempt;
      entry.delayMs = delayMs;
      return;
    }
    if (this.addresses.size >= this.maxAddresses) this.untracked++;
    else {
      // The first failure after a quiet interval: said at once.
      this.write(address, 1, attempt, delayMs);
      this.addresses.set(address, { unlogged: 0, attempt, delayMs });
    }
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes the interval's lines (the timer calls this every intervalMs). */
  tick(): void {
    for (const [address, entry] of this.addresses) {
      if (entry.unlogged === 0) {
        this.addresses.delete(address); // quiet for a whole interval
        continue;
      }
      this.write(address, entry.unlogged, entry.attempt, entry.delayMs);
      entry.unlogged = 0;
    }
    if (this.untracked > 0) {
      this.log.warn({ failures: this.untracked, intervalMs: this.intervalMs }, 'failed logins from more addresses than are tracked');
      this.untracked = 0;
    }
    if (this.addresses.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private write(address: string, failures: number, attempt: LoginAttempt, delayMs: number): void {
    this.log.warn({ remote: address, failures, clientId: attempt.clientId, username: attempt.username, delayMs }, 'failed login');
  }
}
