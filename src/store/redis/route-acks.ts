// Acks of route announcements: an announcer opens a wait for its seq BEFORE publishing (an ack
// can arrive on the subscriber connection before the PUBLISH reply on the command connection),
// learns from that reply how many nodes heard it, and waits for that many acks or a timeout.
interface Wait {
  acked: Set<string>;
  expected: number;
  done: () => void;
  allAcked: Promise<void>;
}

export class AckTracker {
  private readonly waits = new Map<number, Wait>();

  constructor(private readonly timeoutMs: number) {}

  open(seq: number): void {
    let done!: () => void;
    const allAcked = new Promise<void>((resolve) => (done = resolve));
    this.waits.set(seq, { acked: new Set(), expected: Infinity, done, allAcked });
  }

  /** Resolves once `expected` nodes acked seq, or after the timeout (onTimeout then sees who did). */
  wait(seq: number, expected: number, onTimeout: (acked: ReadonlySet<string>) => void): Promise<void> {
    const wait = this.waits.get(seq);
    if (wait === undefined) return Promise.resolve();
    wait.expected = expected;
    if (wait.acked.size >= expected) wait.done();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => (onTimeout(wait.acked), resolve()), this.timeoutMs);
      void wait.allAcked.then(() => (clearTimeout(timer), resolve()));
    });
  }

  ack(seq: number, from: string): void {
    const wait = this.waits.get(seq);
    if (wait === undefined) return;
    wait.acked.add(from);
    if (wait.acked.size >= wait.expected) wait.done();
  }

  close(seq: number): void {
    this.waits.delete(seq);
  }

  /** Releases every waiter (the bus is closing). */
  closeAll(): void {
    for (const wait of this.waits.values()) wait.done();
    this.waits.clear();
  }
}
