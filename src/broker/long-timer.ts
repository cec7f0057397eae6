// Timers of any length MQTT allows: a Session Expiry or Will Delay Interval is up to 2^32-1
// seconds (~136 years), but Node's setTimeout holds a signed 32-bit count of milliseconds
// (~24.8 days) and fires after 1 ms when given more (TimeoutOverflowWarning). A long delay is
// waited out in steps of at most MAX_TIMEOUT_MS. The timer is unref'd: it never keeps the
// process alive.

/** The longest delay one setTimeout can wait: 2^31-1 ms. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export class LongTimeout {
  private timer: NodeJS.Timeout | null = null;

  /** Calls callback once after ms milliseconds (any finite length; below 1 counts as 1). */
  constructor(private readonly callback: () => void, ms: number) {
    this.arm(Math.max(1, ms));
  }

  /** Stops the timer; calling it again, or after it fired, does nothing. */
  clear(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** True until it fires or is cleared. */
  get pending(): boolean {
    return this.timer !== null;
  }

  private arm(left: number): void {
    const step = Math.min(left, MAX_TIMEOUT_MS);
    this.timer = setTimeout(() => {
      if (left > step) {
        this.arm(left - step);
        return;
      }
      this.timer = null;
      this.callback();
    }, step);
    this.timer.unref();
  }
}

/** setTimeout for delays of any length (see LongTimeout); clear it with `.clear()`. */
export function setLongTimeout(callback: () => void, ms: number): LongTimeout {
  return new LongTimeout(callback, ms);
}
