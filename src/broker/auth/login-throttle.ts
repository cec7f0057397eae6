// How long the refusal of a failed login is held, per remote address: the first few failures are
// answered at once (a typo costs nothing), then the delay doubles from a base up to a cap, and an
// address that fails nothing for a quiet period starts again from zero. Pure arithmetic on an
// injected clock: no timer, no I/O (failed-logins.ts holds the answers).
//
// A success from the address does not reset its count: an attacker who owns one valid account
// could otherwise log in with it after every few guesses and never be slowed, and the count is
// per address, shared by everyone behind it (a NAT), so one user's success says nothing about
// the others' guesses. The count forgets on its own after the quiet period.
//
// Memory is bounded: at most maxAddresses are tracked, the least recently failing forgotten first
// (a Map iterates in insertion order; an address is moved to the end on each failure). Each
// process counts its own failures: in a cluster every worker has its own throttle.
import { MAX_TIMEOUT_MS } from '../long-timer.js';

export interface LoginThrottleOptions {
  /** The first delay, ms; 0 turns the slowdown off. */
  baseDelayMs: number;
  /** The longest delay, ms (clamped to what one setTimeout can wait). */
  maxDelayMs: number;
  /** Failures answered at once before the delays start. */
  freeFailures?: number;
  /** Quiet time after which an address' count is forgotten, ms (at least twice maxDelayMs, see below). */
  forgetAfterMs?: number;
  /** Addresses tracked at most. */
  maxAddresses?: number;
}

export const FREE_FAILURES = 3;
export const FORGET_AFTER_MS = 10 * 60_000;
export const MAX_ADDRESSES = 10_000;

interface Failures {
  /** Failures since the address was last quiet for forgetAfterMs. */
  count: number;
  /** When the latest was, ms. */
  last: number;
}

export class LoginThrottle {
  private readonly addresses = new Map<string, Failures>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly freeFailures: number;
  private readonly forgetAfterMs: number;
  private readonly maxAddresses: number;

  constructor(options: LoginThrottleOptions, private readonly now: () => number = Date.now) {
    this.baseDelayMs = Math.min(Math.max(0, options.baseDelayMs), MAX_TIMEOUT_MS);
    this.maxDelayMs = Math.min(Math.max(this.baseDelayMs, options.maxDelayMs), MAX_TIMEOUT_MS);
    this.freeFailures = options.freeFailures ?? FREE_FAILURES;
    // A guesser that waits for each refusal comes back one delay after its failure: were the quiet
    // period shorter than the longest delay, every guess past the cap would be forgiven.
    this.forgetAfterMs = Math.max(options.forgetAfterMs ?? FORGET_AFTER_MS, 2 * this.maxDelayMs);
    this.maxAddresses = Math.max(1, options.maxAddresses ?? MAX_ADDRESSES);
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.addresses.size;
  }

  /** A login from address failed: counts it; returns how long to hold its refusal, ms. */
  failed(address: string): number {
    const now = this.now();
    let entry = this.addresses.get(address);
    if (entry === undefined) entry = { count: 0, last: now };
    else {
      this.addresses.delete(address); // re-inserted below, as the most recent
      if (now - entry.last >= this.forgetAfterMs) entry.count = 0;
    }
    entry.count++;
    entry.last = now;
    this.addresses.set(address, entry);
    if (this.addresses.size > this.maxAddresses) {
      const oldest = this.addresses.keys().next().value;
      if (oldest !== undefined) this.addresses.delete(oldest);
    }
    return this.delayFor(entry.count);
  }

  /** The hold of the count-th failure in a row: 0 for the free ones, then base, 2×base, 4×base… up to the cap. */
  delayFor(count: number): number {
    if (this.baseDelayMs === 0 || count <= this.freeFailures) return 0;
    const doublings = count - this.freeFailures - 1;
    // 2^31 × even 1 ms is past any cap: no need to compute larger powers.
    if (doublings >= 31) return this.maxDelayMs;
    return Math.min(this.baseDelayMs * 2 ** doublings, this.maxDelayMs);
  }
}
