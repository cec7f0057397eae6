// The frames this node sent to each other node during the last moments. A node killed with
// kill -9 still counts as a subscriber until Redis notices its socket closed, so PUBLISH can
// report a receiver for frames that die in its socket buffer. When a node is declared gone,
// every node pushes what it sent it recently into its limbo before acking, and the recoverer
// delivers those to the dead node's adopted sessions: duplicates are possible (at least once),
// losses are not.
export class ReplayBuffer {
  private readonly sent = new Map<string, Array<{ at: number; frame: Buffer }>>();

  constructor(private readonly keepMs: number) {}

  record(nodeId: string, frame: Buffer, now: number): void {
    let frames = this.sent.get(nodeId);
    if (frames === undefined) this.sent.set(nodeId, (frames = []));
    frames.push({ at: now, frame });
    // Prune from the front: frames are in time order.
    let old = 0;
    while (old < frames.length && frames[old]!.at < now - this.keepMs) old++;
    if (old > 0) frames.splice(0, old);
  }

  /** Removes and returns the recent frames sent to nodeId. */
  take(nodeId: string): Buffer[] {
    const frames = this.sent.get(nodeId) ?? [];
    this.sent.delete(nodeId);
    return frames.map((f) => f.frame);
  }
}
