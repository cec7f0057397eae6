// Bytes handed to the Redis command connection and not yet answered, capped per worker.
//
// While Redis is slow or stopped (SIGSTOP, a fork on a full host, a saturated core) the
// connection stays open and ioredis goes on writing: into the kernel's socket buffer, then into
// the socket's user-space buffer, without limit. A worker reading a flood of QoS 1 publishes for
// other nodes kept every one of them (RSS 175 MB -> 950 MB in a 10 s stop at 32 MB/s) and, once
// Redis went on, handed it everything at once: more than Redis lets a pub/sub client have unread
// (client-output-buffer-limit pubsub), so Redis cut the receiving node off and messages already
// acknowledged to their publishers were lost.
//
// So the bus counts the entry bytes of every frame it PUBLISHes until Redis answers (node-batches.ts).
// At `capBytes` or more, a publisher whose message went to Redis is paused (the mechanism of
// bus-flow.ts: Throttled.pauseReading) and every paused one is resumed once the count is at or below
// half the cap. Its PUBACK/PUBREC waits meanwhile (the core sends it when bus.publish resolves),
// so what this worker holds for Redis stays about the cap. Unlike a stalled node, Redis is never
// given up on: it is where every crossing message must go, and waiting is the bound.
// Per message: two additions and a comparison; no allocation, no await.
import type { Throttled } from '../types.js';

/** Default --redis-pending-bytes. */
export const DEFAULT_PENDING_BYTES = 16 * 1024 * 1024;

export class RedisBacklog {
  /** Bytes written and not answered yet. */
  bytes = 0;
  /** Publishers paused because of the backlog (tests, logs). */
  pauses = 0;
  private waiters: Throttled[] = [];
  /** The message being published was written with the backlog at or past the cap. */
  private over = false;

  constructor(readonly capBytes: number = DEFAULT_PENDING_BYTES) {}

  /** A new message is being published: what made the previous one wait is not this one's business. */
  beginMessage(): void {
    this.over = false;
  }

  /** `bytes` are being written to Redis. */
  written(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes >= this.capBytes) this.over = true;
  }

  /** Redis answered (or the write failed): `bytes` are no longer waiting. */
  answered(bytes: number): void {
    this.bytes -= bytes;
    if (this.waiters.length > 0 && this.bytes <= this.capBytes / 2) this.resumeAll();
  }

  /** Called right after a publish: pauses the publisher if its message was written past the cap. */
  throttle(publisher: Throttled): void {
    if (!this.over) return;
    this.over = false;
    if (this.bytes < this.capBytes) return;
    if (publisher.pauseReading()) {
      this.pauses++;
      this.waiters.push(publisher);
    }
  }

  /** Publishers waiting on the backlog (tests). */
  get waiting(): number {
    return this.waiters.length;
  }

  close(): void {
    this.resumeAll();
  }

  private resumeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resumeReading();
  }
}
