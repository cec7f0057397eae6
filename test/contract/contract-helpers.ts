// Shared pieces of the backend contract suite: the fixture every section uses, unique ids so
// a shared redis-server needs no FLUSHALL, sample messages, and a takeover log tests can await.
import type { Backend, Message } from '../../src/store/types.js';

export interface TakeoverEvent {
  clientId: string;
  connectionId: string;
  epoch: number;
}

/** Records takeover callbacks of one backend; waitFor resolves on the first matching event (no sleeps). */
export class TakeoverLog {
  readonly events: TakeoverEvent[] = [];
  private waiters: Array<{ match: (e: TakeoverEvent) => boolean; resolve: (e: TakeoverEvent) => void }> = [];

  constructor(backend: Backend) {
    backend.ownership.onTakeover((clientId, connectionId, epoch) => {
      const event = { clientId, connectionId, epoch };
      this.events.push(event);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(event)) return true;
        w.resolve(event);
        return false;
      });
    });
  }

  for(clientId: string): TakeoverEvent[] {
    return this.events.filter((e) => e.clientId === clientId);
  }

  waitFor(clientId: string, connectionId: string, timeoutMs = 5000): Promise<TakeoverEvent> {
    const match = (e: TakeoverEvent) => e.clientId === clientId && e.connectionId === connectionId;
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    // A deadline only for failing clearly: success resolves on the event itself.
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no takeover of ${clientId}/${connectionId} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
}

/** What each section of the suite gets: the backend(s) under test, created in beforeAll. */
export interface ContractFixture {
  /** The backend under test. */
  a: Backend;
  /** A second backend on the same shared state (another node), or `a` itself when the backend is single-node. */
  b: Backend;
  crossNode: boolean;
  takeoversA: TakeoverLog;
  takeoversB: TakeoverLog;
}

const run = `ct${process.pid.toString(36)}${Date.now().toString(36)}`;
let counter = 0;

/** An id unique to this test run and call, safe on a shared Redis. */
export function uniqueId(label: string): string {
  return `${run}-${label}-${++counter}`;
}

export function message(topic: string, overrides: Partial<Message> = {}): Message {
  return { topic, payload: Buffer.from(`payload of ${topic}`), qos: 1, retain: false, ...overrides };
}
