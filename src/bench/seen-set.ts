// Which sequence numbers one subscriber has had from one publisher: a growable bitmap,
// so a message seen twice is a duplicate no matter how late the second copy arrives.
export class SeenSet {
  private bits = new Uint8Array(1024);

  /** Marks seq as seen; returns false when it had been seen already. */
  add(seq: number): boolean {
    const byte = seq >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (seq & 7);
    if (this.bits[byte]! & mask) return false;
    this.bits[byte]! |= mask;
    return true;
  }
}
