// Seeded corpus of mostly-malformed MQTT inputs: mutations of valid encoded packets (bit flips,
// byte changes, truncation, Remaining Length changes, splicing) plus some pure noise. Broker tests
// send a sample of it over real sockets; the codec fuzz test feeds all of it to the parser.
import { encode, type ProtocolVersion } from '../../src/protocol/index.js';
import { chance, int, mulberry32, pick, type Rng } from './prng.js';
import { randomPacket } from './random-packets.js';

export interface FuzzInput { version: ProtocolVersion; bytes: Buffer; kind: string }

function valid(rng: Rng, version: ProtocolVersion): Buffer {
  return encode(randomPacket(rng, version), version);
}

function mutate(rng: Rng, version: ProtocolVersion): { bytes: Buffer; kind: string } {
  const base = Buffer.from(valid(rng, version));
  switch (int(rng, 0, 6)) {
    case 0: { // bit flips
      for (let n = int(rng, 1, 3); n > 0; n--) base[int(rng, 0, base.length - 1)] ^= 1 << int(rng, 0, 7);
      return { bytes: base, kind: 'bitflip' };
    }
    case 1: { // byte changes, favouring boundary values
      for (let n = int(rng, 1, 3); n > 0; n--) base[int(rng, 0, base.length - 1)] = pick(rng, [0, 0xff, 0x80, 0x7f, int(rng, 0, 255)]);
      return { bytes: base, kind: 'byte' };
    }
    case 2: return { bytes: base.subarray(0, int(rng, 0, base.length - 1)), kind: 'truncate' };
    case 3: { // Remaining Length disagrees with the content
      const delta = pick(rng, [-2, -1, 1, 2, 100]);
      const rl = Math.max(0, (base[1] & 0x7f) + delta) & 0x7f;
      const out = Buffer.from(base);
      out[1] = (base[1] & 0x80) | rl;
      return { bytes: out, kind: 'length' };
    }
    case 4: { // splice two packets at random points
      const other = valid(rng, version);
      return { bytes: Buffer.concat([base.subarray(0, int(rng, 0, base.length)), other.subarray(int(rng, 0, other.length))]), kind: 'splice' };
    }
    case 5: { // insert or delete bytes in the body
      const at = int(rng, 1, base.length);
      const out = chance(rng, 0.5)
        ? Buffer.concat([base.subarray(0, at), Buffer.from([int(rng, 0, 255)]), base.subarray(at)])
        : Buffer.concat([base.subarray(0, at - 1), base.subarray(at)]);
      return { bytes: out, kind: 'insert-delete' };
    }
    default: { // long or oversized Remaining Length
      const out = Buffer.from([base[0], 0xff, 0xff, 0xff, pick(rng, [0x7f, 0xff]), ...base.subarray(2, 10)]);
      return { bytes: out, kind: 'varint' };
    }
  }
}

function noise(rng: Rng): Buffer {
  const b = Buffer.allocUnsafe(int(rng, 1, 64));
  for (let i = 0; i < b.length; i++) b[i] = int(rng, 0, 255);
  return b;
}

/** Yields `count` fuzz inputs for the given seed; about 90% are mutated valid packets. */
export function* fuzzCorpus(seed: number, count: number): Generator<FuzzInput> {
  const rng = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    const version = pick(rng, [3, 4, 5] as const);
    if (chance(rng, 0.1)) yield { version, bytes: noise(rng), kind: 'noise' };
    else yield { version, ...mutate(rng, version) };
  }
}
