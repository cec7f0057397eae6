// SysPublisher's schedule: one publication at start, then one per --sys-interval, for any interval
// (a library caller may pass more than Node's 24.8-day timer limit); stop() ends it.
// Fails if the interval goes to setInterval in ms unchecked: past 2^31-1 ms Node fires it every
// 1 ms (the long-interval test would count hundreds of publications).
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { BrokerCounters } from '../../../src/broker/stats.js';
import { SysPublisher } from '../../../src/broker/sys-topics.js';
import type { BrokerStats } from '../../../src/broker/stats.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

/** A publisher whose stats() calls are counted (one per publication). */
function counted(intervalSeconds: number): { sys: SysPublisher; publications: () => number } {
  let calls = 0;
  const stats = { ...new BrokerCounters() } as unknown as BrokerStats;
  const sys = new SysPublisher({ stats: async () => (calls++, stats) }, () => {}, intervalSeconds);
  return { sys, publications: () => calls };
}

it('publishes at start and then once per interval, until stopped', async () => {
  const { sys, publications } = counted(2);
  sys.start();
  expect(publications()).toBe(1);
  await vi.advanceTimersByTimeAsync(1999);
  expect(publications()).toBe(1);
  await vi.advanceTimersByTimeAsync(1);
  expect(publications()).toBe(2);
  await vi.advanceTimersByTimeAsync(4000);
  expect(publications()).toBe(4);
  sys.stop();
  await vi.advanceTimersByTimeAsync(10_000);
  expect(publications()).toBe(4);
});

it('an interval past 2^31-1 ms (30 days) does not fire early', async () => {
  const { sys, publications } = counted(30 * 24 * 3600);
  sys.start();
  await vi.advanceTimersByTimeAsync(60_000);
  expect(publications()).toBe(1);
  await vi.advanceTimersByTimeAsync(30 * 24 * 3600 * 1000 - 60_000);
  expect(publications()).toBe(2);
  sys.stop();
});
