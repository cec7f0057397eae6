// Credit-based flow control between nodes (bus-flow.ts), without Redis: the accounting alone.
import { afterEach, describe, expect, it } from 'vitest';
import { ACK_EVERY_BYTES, BusFlow, MIN_WINDOW_BYTES } from '../../../src/store/redis/bus-flow.js';
import type { Throttled } from '../../../src/store/types.js';

/** A publisher that records what the flow control did to it. */
class Publisher implements Throttled {
  paused = false;
  pauses = 0;
  resumes = 0;
  pauseReading(): boolean {
    if (this.paused) return false;
    this.paused = true;
    this.pauses++;
    return true;
  }
  resumeReading(): void {
    this.paused = false;
    this.resumes++;
  }
}

const flows: BusFlow[] = [];
function flow(windowBytes = MIN_WINDOW_BYTES, stallMs = 60_000): { flow: BusFlow; acks: Array<[string, number]> } {
  const acks: Array<[string, number]> = [];
  const f = new BusFlow({ windowBytes, stallMs }, (to, bytes) => acks.push([to, bytes]));
  flows.push(f);
  return { flow: f, acks };
}
afterEach(() => {
  for (const f of flows.splice(0)) f.close();
});

/** Sends `bytes` to node in 1 KiB entries, throttling `publisher` after each, as the core does. */
function send(f: BusFlow, node: string, bytes: number, publisher: Throttled): void {
  for (let sent = 0; sent < bytes; sent += 1024) {
    f.beginMessage();
    f.sent(node, 1024);
    f.throttle(publisher);
  }
}

describe('BusFlow sender side', () => {
  it('pauses a publisher only once the node has a window outstanding, and resumes it at half the window', () => {
    const { flow: f } = flow();
    const p = new Publisher();
    send(f, 'b', MIN_WINDOW_BYTES - 1024, p);
    expect(p.paused).toBe(false);
    send(f, 'b', 1024, p);
    expect(p.paused).toBe(true);
    expect(f.pauses).toBe(1);
    f.onAck('b', MIN_WINDOW_BYTES / 2 - 1024);
    expect(p.paused).toBe(true); // still above half the window
    f.onAck('b', 1024);
    expect(p.paused).toBe(false);
    expect(f.outstanding('b')).toBe(MIN_WINDOW_BYTES / 2);
  });

  it('holds back only publishers whose message went to the node that is behind', () => {
    const { flow: f } = flow();
    const toB = new Publisher();
    const toC = new Publisher();
    send(f, 'b', MIN_WINDOW_BYTES, toB);
    send(f, 'c', 4096, toC);
    expect(toB.paused).toBe(true);
    expect(toC.paused).toBe(false);
  });

  it('a message sent without a publisher (a will, $SYS) does not make the next publisher wait for its node', () => {
    const { flow: f } = flow();
    const p = new Publisher();
    f.beginMessage();
    f.sent('b', MIN_WINDOW_BYTES); // behind now, and nobody throttled after it
    f.beginMessage();
    f.sent('c', 1024); // p's message goes elsewhere
    f.throttle(p);
    expect(p.paused).toBe(false);
  });

  it('a publisher already paused is not queued twice', () => {
    const { flow: f } = flow();
    const p = new Publisher();
    send(f, 'b', MIN_WINDOW_BYTES + 8 * 1024, p);
    expect(p.pauses).toBe(1);
    f.onAck('b', MIN_WINDOW_BYTES);
    expect(p.resumes).toBe(1);
  });

  it('bytes that went to limbo instead (or were refused) are not outstanding', () => {
    const { flow: f } = flow();
    const p = new Publisher();
    send(f, 'b', MIN_WINDOW_BYTES, p);
    expect(p.paused).toBe(true);
    f.unsent('b', MIN_WINDOW_BYTES);
    expect(p.paused).toBe(false);
    expect(f.outstanding('b')).toBe(0);
  });

  it('a node declared gone releases its publishers and its credit', () => {
    const { flow: f } = flow();
    const p = new Publisher();
    send(f, 'b', MIN_WINDOW_BYTES, p);
    f.forget('b');
    expect(p.paused).toBe(false);
    expect(f.outstanding('b')).toBe(0);
  });

  it('a node silent past stallMs is not waited for, until it acks again', async () => {
    const { flow: f } = flow(MIN_WINDOW_BYTES, 50);
    const p = new Publisher();
    send(f, 'b', MIN_WINDOW_BYTES, p);
    expect(p.paused).toBe(true);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => !p.paused && (clearInterval(check), resolve()), 5);
    });
    // Stalled: more sends do not pause anyone.
    send(f, 'b', 8 * 1024, p);
    expect(p.paused).toBe(false);
    // It acks a little (alive again, still behind): publishers wait for it again.
    f.onAck('b', 1024);
    send(f, 'b', 1024, p);
    expect(p.paused).toBe(true);
    // And silent again: released again.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => !p.paused && (clearInterval(check), resolve()), 5);
    });
    expect(p.resumes).toBe(2);
  });

  it('window 0 turns waiting off; a window below the minimum is raised to it', () => {
    const off = flow(0).flow;
    const p = new Publisher();
    send(off, 'b', 10 * MIN_WINDOW_BYTES, p);
    expect(p.paused).toBe(false);
    expect(flow(1000).flow.windowBytes).toBe(MIN_WINDOW_BYTES);
  });
});

describe('BusFlow receiver side', () => {
  it('acks each sender once ACK_EVERY_BYTES are due, with the bytes processed', () => {
    const { flow: f, acks } = flow();
    f.processed('a', ACK_EVERY_BYTES - 1);
    f.processed('c', 10);
    expect(acks).toEqual([]);
    f.processed('a', 5);
    expect(acks).toEqual([['a', ACK_EVERY_BYTES + 4]]);
    f.processed('a', ACK_EVERY_BYTES);
    expect(acks).toEqual([['a', ACK_EVERY_BYTES + 4], ['a', ACK_EVERY_BYTES]]);
  });

  it('a sender and a receiver that keeps up never pause: what is left unacked stays under a quarter window', () => {
    const sender = flow().flow;
    const receiver = flow();
    const p = new Publisher();
    for (let i = 0; i < 10_000; i++) {
      sender.sent('b', 1000);
      sender.throttle(p);
      receiver.flow.processed('a', 1000);
      for (const [, bytes] of receiver.acks.splice(0)) sender.onAck('b', bytes);
    }
    expect(p.pauses).toBe(0);
    expect(sender.outstanding('b')).toBeLessThan(ACK_EVERY_BYTES);
  });
});

describe('BusFlow across a node connection reset (its rejoin)', () => {
  it('a node that lost unread frames and rejoined is credited from zero: the sender is not held back by bytes it will never ack', () => {
    const { flow: f } = flow();
    const p = new Publisher();
    // A window went out; the node's subscriber connection was cut (Redis' pub/sub limit) with it unread.
    send(f, 'b', MIN_WINDOW_BYTES, p);
    expect(p.paused).toBe(true);
    // The node is back and announces 'rejoin' (bus.ts calls forget): the waiting publisher goes on
    // and what the node processes from now on is all the sender counts.
    f.forget('b');
    expect(p.paused).toBe(false);
    expect(f.outstanding('b')).toBe(0);
    // New traffic that the node keeps up with never pauses anyone again (without the reset,
    // outstanding would stay a window above what it acks: every send would pause).
    for (let i = 0; i < 100; i++) {
      send(f, 'b', ACK_EVERY_BYTES, p);
      f.onAck('b', ACK_EVERY_BYTES);
    }
    expect(p.pauses).toBe(1);
    expect(f.outstanding('b')).toBe(0);
  });

  it('the receiver forgets what it processed from a sender whose connection reset, and late acks never go below zero', () => {
    const { flow: f, acks } = flow();
    f.processed('a', ACK_EVERY_BYTES - 1);
    expect(f.unacked('a')).toBe(ACK_EVERY_BYTES - 1);
    f.forget('a');
    expect(f.unacked('a')).toBe(0);
    // Counting restarts: a full ACK_EVERY_BYTES more before the next ack, not one byte.
    f.processed('a', 1);
    expect(acks).toEqual([]);
    // Sender side: an ack for bytes sent before the reset (in flight across it) is not a credit.
    const p = new Publisher();
    send(f, 'b', 4 * 1024, p);
    f.forget('b');
    f.onAck('b', 4 * 1024);
    expect(f.outstanding('b')).toBe(0);
  });
});
