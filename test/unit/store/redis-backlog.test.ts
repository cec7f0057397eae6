// The cap on bytes written to Redis and not yet answered (redis-backlog.ts), without Redis.
import { describe, expect, it } from 'vitest';
import { RedisBacklog } from '../../../src/store/redis/redis-backlog.js';
import type { Throttled } from '../../../src/store/types.js';

class Publisher implements Throttled {
  paused = false;
  pauses = 0;
  pauseReading(): boolean {
    if (this.paused) return false;
    this.paused = true;
    this.pauses++;
    return true;
  }
  resumeReading(): void {
    this.paused = false;
  }
}

const CAP = 1024 * 1024;

/** One publish as the bus and the core do it: begin, write (if it leaves the node), throttle. */
function publish(b: RedisBacklog, publisher: Throttled, bytes: number): void {
  b.beginMessage();
  if (bytes > 0) b.written(bytes);
  b.throttle(publisher);
}

describe('RedisBacklog', () => {
  it('pauses a publisher once its message is written with the cap reached, and resumes it at half the cap', () => {
    const b = new RedisBacklog(CAP);
    const p = new Publisher();
    for (let i = 0; i < 15; i++) publish(b, p, 64 * 1024);
    expect(p.paused).toBe(false);
    publish(b, p, 64 * 1024); // 16 × 64 KiB = the cap
    expect(p.paused).toBe(true);
    expect(b.waiting).toBe(1);
    b.answered(7 * 64 * 1024); // 9/16 of the cap left: still waiting
    expect(p.paused).toBe(true);
    b.answered(64 * 1024); // half
    expect(p.paused).toBe(false);
    expect(b.bytes).toBe(CAP / 2);
  });

  it('does not pause a publisher whose message stayed on this node, even past the cap', () => {
    const b = new RedisBacklog(CAP);
    const crossing = new Publisher();
    const local = new Publisher();
    publish(b, crossing, CAP);
    expect(crossing.paused).toBe(true);
    publish(b, local, 0);
    expect(local.paused).toBe(false);
  });

  it('a message written without a publisher (a will, $SYS) does not make the next local publisher wait', () => {
    const b = new RedisBacklog(CAP);
    b.beginMessage();
    b.written(CAP);
    const local = new Publisher();
    publish(b, local, 0);
    expect(local.paused).toBe(false);
  });

  it('a publisher already paused (by bus flow control) is not queued twice; close resumes everyone', () => {
    const b = new RedisBacklog(CAP);
    const p = new Publisher();
    p.pauseReading();
    publish(b, p, CAP);
    expect(b.waiting).toBe(0);
    const q = new Publisher();
    publish(b, q, 1);
    expect(b.waiting).toBe(1);
    b.close();
    expect(q.paused).toBe(false);
  });
});
