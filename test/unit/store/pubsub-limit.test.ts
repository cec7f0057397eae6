// What Redis' pub/sub output limit must allow (pubsub-limit.ts): parsing and the arithmetic.
import { describe, expect, it } from 'vitest';
import { formatPubsubLimit, neededPubsubLimit, parsePubsubLimit } from '../../../src/store/redis/pubsub-limit.js';

const MB = 1024 * 1024;
const DEFAULT = 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60';

describe('pub/sub output limit', () => {
  it("parses the pubsub class of CONFIG GET client-output-buffer-limit (Redis' default: 32mb 8mb 60)", () => {
    expect(parsePubsubLimit(DEFAULT)).toEqual({ hard: 32 * MB, soft: 8 * MB, seconds: 60 });
    expect(parsePubsubLimit('normal 0 0 0')).toBeNull();
  });

  it('needs senders × (pending bytes + window) hard and senders × window soft, never lowering a limit', () => {
    const current = { hard: 32 * MB, soft: 8 * MB, seconds: 60 };
    // 2 nodes: one sender, 16 MiB + 1 MiB < 32 MiB: fits as it is.
    expect(neededPubsubLimit(current, { nodes: 2, windowBytes: MB, pendingBytes: 16 * MB })).toEqual(current);
    // 4 nodes: three senders → 51 MiB hard; soft 3 MiB stays 8.
    const four = neededPubsubLimit(current, { nodes: 4, windowBytes: MB, pendingBytes: 16 * MB });
    expect(four).toEqual({ hard: 51 * MB, soft: 8 * MB, seconds: 60 });
    expect(formatPubsubLimit(four!)).toBe('pubsub 51mb 8mb 60');
    // 0 means no limit: already enough.
    expect(neededPubsubLimit({ hard: 0, soft: 0, seconds: 0 }, { nodes: 9, windowBytes: MB, pendingBytes: 16 * MB })).toEqual({ hard: 0, soft: 0, seconds: 0 });
    // Flow control off: no finite limit is enough.
    expect(neededPubsubLimit(current, { nodes: 2, windowBytes: Infinity, pendingBytes: 16 * MB })).toBeNull();
  });
});
