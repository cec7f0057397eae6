// failed-login-log: at most one line per remote address per interval, the first at once, each with
// the failures since the last line and the last client id and user name tried. Each test fails on
// one change to src/broker/auth/failed-login-log.ts:
// - "first at once": the first failure waits for the interval, or its line lacks address, client
//   id, user name or delay;
// - "folds": every failure gets a line, or the interval line loses the count or the latest attempt;
// - "forgets quiet addresses": a quiet address is kept (the timer never stops) or its next failure
//   is folded instead of said at once;
// - "bounded": addresses past the bound are named (the map grows without limit) or their failures lost.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FailedLoginLog } from '../../../src/broker/auth/failed-login-log.js';
import type { Logger } from '../../../src/log.js';

type Line = { obj: Record<string, unknown>; msg: string };
function fakeLog(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = { warn: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) } as unknown as Logger;
  return { log, lines };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FailedLoginLog', () => {
  it('first at once, with the address, client id, user name and delay (never a password)', () => {
    const { log, lines } = fakeLog();
    new FailedLoginLog(log, 1000).failed('10.0.0.1', { clientId: 'c1', username: 'alice' }, 0);
    expect(lines).toEqual([{ obj: { remote: '10.0.0.1', failures: 1, clientId: 'c1', username: 'alice', delayMs: 0 }, msg: 'failed login' }]);
  });

  it('folds the further failures of an interval into one line per address', () => {
    const { log, lines } = fakeLog();
    const failed = new FailedLoginLog(log, 1000);
    for (let i = 0; i < 50; i++) failed.failed('10.0.0.1', { clientId: `c${i}`, username: `u${i}` }, i * 10);
    failed.failed('10.0.0.2', { clientId: 'x', username: undefined }, 0);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(3);
    expect(lines[2].obj).toEqual({ remote: '10.0.0.1', failures: 49, clientId: 'c49', username: 'u49', delayMs: 490 });
  });

  it('forgets an address quiet for an interval: its next failure is said at once; the timer stops', () => {
    const { log, lines } = fakeLog();
    const failed = new FailedLoginLog(log, 1000);
    failed.failed('10.0.0.1', { clientId: 'c', username: 'u' }, 0);
    vi.advanceTimersByTime(1000); // nothing new: no line, and the address is forgotten
    expect(lines).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    failed.failed('10.0.0.1', { clientId: 'c', username: 'u' }, 0);
    expect(lines).toHaveLength(2);
    expect(lines[1].obj.failures).toBe(1);
  });

  it('bounded: failures from addresses past the bound are summed in one line', () => {
    const { log, lines } = fakeLog();
    const failed = new FailedLoginLog(log, 1000, 2);
    for (let i = 0; i < 100; i++) failed.failed(`10.0.0.${i}`, { clientId: 'c', username: 'u' }, 0);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(3);
    expect(lines[2].obj.failures).toBe(98);
  });
});
