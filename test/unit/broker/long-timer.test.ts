// long-timer: delays longer than one setTimeout can hold (2^31-1 ms, ~24.8 days) — MQTT's Session
// Expiry and Will Delay Intervals go up to 2^32-1 seconds.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, setLongTimeout } from '../../../src/broker/long-timer.js';

const DAY_MS = 86_400_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('long-timer', () => {
  it('fires after 30 days, not before (a plain setTimeout would fire after 1 ms)', () => {
    const fired = vi.fn();
    const timer = setLongTimeout(fired, 30 * DAY_MS);
    vi.advanceTimersByTime(1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY_MS - 2);
    expect(fired).not.toHaveBeenCalled();
    expect(timer.pending).toBe(true);
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(timer.pending).toBe(false);
    vi.advanceTimersByTime(60 * DAY_MS);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires short delays like setTimeout', () => {
    const fired = vi.fn();
    setLongTimeout(fired, 1500);
    vi.advanceTimersByTime(1499);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires exactly at the one-setTimeout limit and one step past it', () => {
    const atLimit = vi.fn();
    const pastLimit = vi.fn();
    setLongTimeout(atLimit, MAX_TIMEOUT_MS);
    setLongTimeout(pastLimit, MAX_TIMEOUT_MS + 1);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(atLimit).toHaveBeenCalledTimes(1);
    expect(pastLimit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(pastLimit).toHaveBeenCalledTimes(1);
  });

  it('represents 2^32-1 seconds, the longest interval MQTT allows', () => {
    const fired = vi.fn();
    const ms = 0xffff_ffff * 1000;
    setLongTimeout(fired, ms);
    vi.advanceTimersByTime(ms - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('clear() stops it, before the first step and in a later one', () => {
    const early = vi.fn();
    const late = vi.fn();
    const a = setLongTimeout(early, 30 * DAY_MS);
    const b = setLongTimeout(late, 30 * DAY_MS);
    a.clear();
    vi.advanceTimersByTime(MAX_TIMEOUT_MS + DAY_MS); // b is in its second step now
    b.clear();
    b.clear(); // twice: nothing
    vi.advanceTimersByTime(60 * DAY_MS);
    expect(early).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not keep the process alive (unref)', () => {
    vi.useRealTimers();
    const timer = setLongTimeout(() => undefined, 30 * DAY_MS);
    const handle = (timer as unknown as { timer: NodeJS.Timeout }).timer;
    expect(handle.hasRef()).toBe(false);
    timer.clear();
  });
});
