// Seeded, bounded fuzz run in CI: 200,000 mutated and random inputs, fed whole and in random
// chunks. The parser may only throw ProtocolError, must finish each input quickly, and must
// never hold more bytes than it was given.
import { describe, expect, it } from 'vitest';
import { PacketParser, ProtocolError } from '../../../src/protocol/index.js';
import { fuzzCorpus } from '../../helpers/fuzz-corpus.js';
import { int, mulberry32 } from '../../helpers/prng.js';

const INPUTS = 200_000;
const MAX_MS_PER_INPUT = 1000; // inputs are < 1 KiB (microseconds each); 1 s only trips on a real hang, not a GC pause or a busy machine

function feed(bytes: Buffer, chunks: Buffer[], version: 3 | 4 | 5): { error: unknown; maxBuffered: number } {
  const parser = new PacketParser({ protocolVersion: version, maxPacketSize: 64 * 1024 });
  let maxBuffered = 0;
  try {
    for (const c of chunks) {
      parser.parse(c, () => undefined);
      maxBuffered = Math.max(maxBuffered, parser.bufferedBytes);
    }
  } catch (error) {
    return { error, maxBuffered };
  }
  return { error: undefined, maxBuffered };
}

describe('parser fuzzing', () => {
  it(`${INPUTS} mutated/random inputs: only ProtocolError, bounded time, bufferedBytes <= input`, () => {
    const rng = mulberry32(12345);
    const kinds = new Map<string, number>();
    let rejected = 0;
    for (const input of fuzzCorpus(20240601, INPUTS)) {
      const whole = rng() < 0.5;
      const chunks: Buffer[] = [];
      if (whole) chunks.push(input.bytes);
      else for (let pos = 0; pos < input.bytes.length;) { const n = int(rng, 1, 16); chunks.push(input.bytes.subarray(pos, pos + n)); pos += n; }
      const started = performance.now();
      const { error, maxBuffered } = feed(input.bytes, chunks, input.version);
      const elapsed = performance.now() - started;
      if (error !== undefined && !(error instanceof ProtocolError)) {
        throw new Error(`non-ProtocolError for ${input.kind} v${input.version} ${input.bytes.toString('hex')}: ${String(error)}`);
      }
      if (error !== undefined) rejected++;
      expect(maxBuffered).toBeLessThanOrEqual(input.bytes.length);
      if (elapsed > MAX_MS_PER_INPUT) throw new Error(`input took ${elapsed.toFixed(1)} ms: ${input.bytes.toString('hex')}`);
      kinds.set(input.kind, (kinds.get(input.kind) ?? 0) + 1);
    }
    // The corpus must really exercise both outcomes and every mutation kind.
    expect(rejected).toBeGreaterThan(INPUTS / 4);
    expect(rejected).toBeLessThan(INPUTS);
    expect([...kinds.keys()].sort()).toEqual(['bitflip', 'byte', 'insert-delete', 'length', 'noise', 'splice', 'truncate', 'varint']);
  }, 60_000);

  it('the corpus is reproducible from its seed', () => {
    const a = [...fuzzCorpus(5, 200)].map((x) => x.bytes.toString('hex'));
    const b = [...fuzzCorpus(5, 200)].map((x) => x.bytes.toString('hex'));
    const c = [...fuzzCorpus(6, 200)].map((x) => x.bytes.toString('hex'));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});
