// Retained messages of a single process, on the shared RetainedIndex (wildcards walk a trie).
// Expired messages (expiresAt) are returned as stored: the core checks expiry on delivery.
import { RetainedIndex } from '../retained-index.js';
import type { Message, RetainedStore } from '../types.js';

const resolved = Promise.resolve();

export class MemoryRetainedStore implements RetainedStore {
  private readonly index = new RetainedIndex<Message>();

  set(topic: string, message: Message | null): void {
    if (message === null) this.index.delete(topic);
    else this.index.set(topic, message);
  }

  match(filter: string): Promise<Message[]> {
    const found: Message[] = [];
    this.index.match(filter, (_topic, message) => found.push(message));
    return Promise.resolve(found);
  }

  count(): Promise<number> {
    return Promise.resolve(this.index.size);
  }

  flush(): Promise<void> {
    return resolved;
  }
}
