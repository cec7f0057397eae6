// The embedded default backend: all state in this process, nothing shared.
import type { Backend } from '../types.js';
import { MemoryBus } from './bus.js';
import { MemoryOwnership } from './ownership.js';
import { MemoryRetainedStore } from './retained-store.js';
import { MemorySessionStore } from './session-store.js';

export { MemoryBus, MemoryOwnership, MemoryRetainedStore, MemorySessionStore };

export interface MemoryBackend extends Backend {
  sessions: MemorySessionStore;
  retained: MemoryRetainedStore;
  ownership: MemoryOwnership;
  bus: MemoryBus;
}

export function createMemoryBackend(options: { nodeId?: string } = {}): MemoryBackend {
  const bus = new MemoryBus(options.nodeId);
  return {
    sessions: new MemorySessionStore(bus.nodeId),
    retained: new MemoryRetainedStore(),
    ownership: new MemoryOwnership(),
    bus,
    close: () => bus.close(),
  };
}
