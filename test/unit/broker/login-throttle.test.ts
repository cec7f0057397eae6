// login-throttle: the hold of a failed login's refusal per remote address, on an injected clock.
// Each test fails on one change to src/broker/auth/login-throttle.ts:
// - "grows and caps": the delays start before the free failures are used up, do not double, or
//   pass --auth-fail-max-delay;
// - "0 turns it off": a base of 0 still yields delays;
// - "counts per address": one address' failures slow another's;
// - "forgets after the quiet period": the count never resets, or resets while failures keep coming;
// - "quiet period outlasts the cap": forgetAfterMs is not raised to twice the longest delay (a guesser
//   waiting out each capped refusal would start from zero again);
// - "bounded memory": addresses are never evicted, or the most recent is evicted instead of the oldest;
// - "clamps": a delay past 2^31-1 ms reaches setTimeout (which then fires after 1 ms), or a huge
//   count overflows to Infinity/NaN.
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../src/broker/auth/login-throttle.js';
import { MAX_TIMEOUT_MS } from '../../../src/broker/long-timer.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_764_000_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function failures(throttle: LoginThrottle, address: string, n: number): number[] {
  return Array.from({ length: n }, () => throttle.failed(address));
}

describe('LoginThrottle', () => {
  it('grows and caps: three failures free, then doubling from the base up to the cap', () => {
    const c = clock();
    const throttle = new LoginThrottle({ baseDelayMs: 1000, maxDelayMs: 10_000 }, c.now);
    expect(failures(throttle, '10.0.0.1', 9)).toEqual([0, 0, 0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('0 turns it off', () => {
    const throttle = new LoginThrottle({ baseDelayMs: 0, maxDelayMs: 10_000 });
    expect(failures(throttle, '10.0.0.1', 20).every((d) => d === 0)).toBe(true);
  });

  it('counts per address', () => {
    const c = clock();
    const throttle = new LoginThrottle({ baseDelayMs: 1000, maxDelayMs: 10_000 }, c.now);
    failures(throttle, '10.0.0.1', 6);
    expect(failures(throttle, '10.0.0.2', 4)).toEqual([0, 0, 0, 1000]);
    expect(throttle.failed('10.0.0.1')).toBe(8000);
  });

  it('forgets after the quiet period, not while failures keep coming', () => {
    const c = clock();
    const throttle = new LoginThrottle({ baseDelayMs: 1000, maxDelayMs: 10_000, forgetAfterMs: 60_000 }, c.now);
    failures(throttle, 'a', 5);
    // Failures 59 s apart are never quiet long enough: the count keeps growing.
    c.advance(59_000);
    expect(throttle.failed('a')).toBe(4000);
    c.advance(59_000);
    expect(throttle.failed('a')).toBe(8000);
    c.advance(60_000);
    expect(failures(throttle, 'a', 4)).toEqual([0, 0, 0, 1000]);
  });

  it('quiet period outlasts the cap: a guesser waiting out each capped refusal is not forgiven', () => {
    const c = clock();
    const throttle = new LoginThrottle({ baseDelayMs: 1000, maxDelayMs: 120_000, forgetAfterMs: 60_000 }, c.now);
    const delays = [];
    for (let i = 0; i < 13; i++) {
      const d = throttle.failed('a');
      delays.push(d);
      c.advance(d + 10); // comes back right after each refusal
    }
    expect(delays.slice(-3)).toEqual([120_000, 120_000, 120_000]);
  });

  it('bounded memory: at most maxAddresses tracked, the least recently failing forgotten first', () => {
    const c = clock();
    const throttle = new LoginThrottle({ baseDelayMs: 1000, maxDelayMs: 10_000, maxAddresses: 3 }, c.now);
    failures(throttle, 'a', 5);
    failures(throttle, 'b', 5);
    failures(throttle, 'c', 1);
    throttle.failed('a'); // a is now the most recent, b the oldest
    throttle.failed('d');
    expect(throttle.size).toBe(3);
    expect(throttle.failed('a')).toBe(8000); // kept: 7th failure
    expect(throttle.failed('b')).toBe(0); // evicted: counted from 1 again
    for (let i = 0; i < 100_000; i++) throttle.failed(`10.1.${i >> 8}.${i & 255}`);
    expect(throttle.size).toBe(3);
  });

  it('clamps to what setTimeout can wait, however large the settings or the count', () => {
    const c = clock();
    const throttle = new LoginThrottle({ baseDelayMs: 2 ** 40, maxDelayMs: 2 ** 50 }, c.now);
    const delays = failures(throttle, 'a', 5);
    expect(delays[3]).toBe(MAX_TIMEOUT_MS);
    expect(delays[4]).toBe(MAX_TIMEOUT_MS);
    const small = new LoginThrottle({ baseDelayMs: 1, maxDelayMs: Number.MAX_SAFE_INTEGER }, c.now);
    expect(small.delayFor(3 + 1 + 30)).toBe(2 ** 30);
    expect(small.delayFor(3 + 1 + 31)).toBe(MAX_TIMEOUT_MS);
    expect(small.delayFor(1e9)).toBe(MAX_TIMEOUT_MS);
  });
});
