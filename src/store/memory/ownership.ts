// Client id ownership within one process.
//
// A claim of an id held by another connection records the new holder first, then calls the
// takeover handlers SYNCHRONOUSLY, inside claim(), with the old holder's connectionId and
// epoch. So by the time the claim's promise resolves the old connection has been told to go.
import type { SessionOwnership } from '../types.js';

type TakeoverHandler = (clientId: string, connectionId: string, epoch: number, remote?: boolean) => void;

export class MemoryOwnership implements SessionOwnership {
  private readonly holders = new Map<string, { connectionId: string; epoch: number }>();
  private readonly handlers: TakeoverHandler[] = [];
  /** One counter for all ids: epochs only need to grow, and a fresh id never reuses an old epoch. */
  private lastEpoch = 0;

  claim(clientId: string, connectionId: string): Promise<number> {
    const epoch = ++this.lastEpoch;
    const previous = this.holders.get(clientId);
    this.holders.set(clientId, { connectionId, epoch });
    if (previous !== undefined && previous.connectionId !== connectionId) {
      for (const handler of this.handlers) handler(clientId, previous.connectionId, previous.epoch);
    }
    return Promise.resolve(epoch);
  }

  release(clientId: string, epoch: number): void {
    // A stale release (the id was claimed again since) must not free the newer claim.
    if (this.holders.get(clientId)?.epoch === epoch) this.holders.delete(clientId);
  }

  onTakeover(handler: TakeoverHandler): void {
    this.handlers.push(handler);
  }

  /** The current holder (memory only; tests and diagnostics). */
  holderOf(clientId: string): { connectionId: string; epoch: number } | undefined {
    return this.holders.get(clientId);
  }
}
