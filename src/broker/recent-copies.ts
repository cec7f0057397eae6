// Two copies of one message for a resumed session: after a node's death its messages can reach
// the session's new holder both directly (the new routes) and through the store queue (the
// adopting node's bridge, or a replay), for a few seconds. Messages from the bus carry their
// origin (sender node, its sequence number), so the session remembers, for a while after it
// resumed or was told of forwarded messages, which origins it has sent, and skips a second copy.

/** How long a resumed session checks for second copies: longer than a bridge lasts (recovery.ts, 3 s). */
const WATCH_MS = 10_000;
/** Beyond this many remembered origins the check gives up (a second copy is then possible, never a loss). */
const MAX_REMEMBERED = 200_000;

export class RecentCopies {
  private readonly sent = new Map<string, Set<number>>();
  private size = 0;
  private until: number;

  constructor(now: number) {
    this.until = now + WATCH_MS;
  }

  /** Keeps watching WATCH_MS from now (more forwarded messages are on their way). */
  extend(now: number): void {
    this.until = now + WATCH_MS;
  }

  /** False once the watch is over: the caller drops this object. */
  active(now: number): boolean {
    return now < this.until && this.size < MAX_REMEMBERED;
  }

  has(sender: string, seq: number): boolean {
    return this.sent.get(sender)?.has(seq) === true;
  }

  add(sender: string, seq: number): void {
    let seqs = this.sent.get(sender);
    if (seqs === undefined) this.sent.set(sender, (seqs = new Set()));
    if (!seqs.has(seq)) {
      seqs.add(seq);
      this.size++;
    }
  }
}
