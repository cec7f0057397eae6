// The bus of a single node: there is nobody else, so routes are trivially in place and
// publish sends nothing.
import type { Message, MessageBus } from '../types.js';

const resolved = Promise.resolve();

export class MemoryBus implements MessageBus {
  readonly received = 0;

  constructor(readonly nodeId: string = `memory-${process.pid}`) {}

  addRoute(_filter: string): Promise<void> {
    return resolved;
  }

  removeRoute(_filter: string): void {}

  publish(_message: Message): Promise<void> {
    return resolved;
  }

  /** No other node exists, so the handler is never called. */
  onMessage(_handler: (message: Message) => void): void {}

  close(): Promise<void> {
    return resolved;
  }
}
