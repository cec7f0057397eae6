// The bus of a single node: there is nobody else, so routes are trivially in place and
// publish sends nothing (every shared subscription group is served by this node).
import type { Message, MessageBus, Reach, SharedRoute } from '../types.js';

const resolved = Promise.resolve();

export class MemoryBus implements MessageBus {
  readonly received = 0;
  readonly sharedRouteCount = 0;

  constructor(readonly nodeId: string = `memory-${process.pid}`) {}

  addRoute(_filter: string): Promise<void> {
    return resolved;
  }

  removeRoute(_filter: string): void {}

  /** No other node: `reach` is never marked here. */
  publish(_message: Message, _shared?: ReadonlyMap<string, readonly string[]>, _reach?: Reach): Promise<void> {
    return resolved;
  }

  /** No other node exists, so the handler is never called. */
  onMessage(_handler: (message: Message, groups: readonly string[] | undefined) => void): void {}

  matchSharedRoutes(_topic: string, _visit: (route: SharedRoute) => void): void {}

  close(): Promise<void> {
    return resolved;
  }
}
