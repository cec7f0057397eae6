// An answer of a plugin hook still to come, without a promise of our own: an async hook is asked
// per message (per subscriber, for deliveries), and every promise and reaction on that path is
// paid each time. The broker's callers register a callback (onSettled); `await` works too
// (then()), for the callers where a promise is no cost (CONNECT, SUBSCRIBE, tests).
//
// One AnswerClock per Hooks expires answers that outlast --plugin-timeout: every call has the same
// budget, so deadlines come in the order calls were made, and one timer for the oldest suffices.

type Settle<T> = (value: T) => void;

export class Pending<T> implements PromiseLike<T> {
  /** The hook answered, or the clock expired it: the clock no longer watches it. */
  answered = false;
  private done = false;
  private value: T | undefined;
  private waiters: Settle<T> | Array<Settle<T>> | null = null;

  constructor(
    readonly deadline: number,
    /** What the answer is when the deadline passes (a refusal, logged). */
    private readonly timedOut: () => T | Pending<T>,
  ) {}

  /** The hook's answer (or the next plugin's pending answer); later calls are ignored. */
  answer(result: T | Pending<T>): void {
    if (this.answered) return;
    this.answered = true;
    if (result instanceof Pending) result.onSettled((value) => this.fulfil(value));
    else this.fulfil(result);
  }

  /** The clock: the deadline passed without an answer. */
  expire(): void {
    if (!this.answered) this.answer(this.timedOut());
  }

  onSettled(callback: Settle<T>): void {
    if (this.done) {
      callback(this.value as T);
      return;
    }
    const waiters = this.waiters;
    if (waiters === null) this.waiters = callback;
    else if (typeof waiters === 'function') this.waiters = [waiters, callback];
    else waiters.push(callback);
  }

  then<R1 = T, R2 = never>(onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return new Promise<T>((resolve) => this.onSettled(resolve)).then(onFulfilled, onRejected);
  }

  private fulfil(value: T): void {
    this.done = true;
    this.value = value;
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters === null) return;
    if (typeof waiters === 'function') waiters(value);
    else for (const waiter of waiters) waiter(value);
  }
}

/**
 * One timer for every answer awaited. Every call has the same budget, so deadlines come in the order
 * calls were made: a FIFO whose head is the next to expire. Answers that came are dropped from the
 * head as new calls arrive (most answer within microseconds), so the queue stays short.
 */
export class AnswerClock {
  private queue: Array<Pending<unknown> | undefined> = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  add(pending: Pending<unknown>): void {
    this.dropAnswered();
    this.queue.push(pending);
    if (this.timer === null) this.arm();
  }

  private dropAnswered(): void {
    const queue = this.queue;
    while (this.head < queue.length && queue[this.head]!.answered) queue[this.head++] = undefined;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (next === undefined) return;
    this.timer = setTimeout(this.fire, Math.max(0, next.deadline - Date.now()));
    // A hook still thinking does not keep the process alive.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = Date.now();
    while (this.head < this.queue.length) {
      const pending = this.queue[this.head]!;
      if (!pending.answered) {
        if (pending.deadline > now) break;
        pending.expire();
      }
      this.queue[this.head++] = undefined;
    }
    this.dropAnswered();
    this.arm();
  };
}
