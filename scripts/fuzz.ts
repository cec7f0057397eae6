// Longer fuzz run than CI's: node --import tsx scripts/fuzz.ts --iterations N --seed S
// Feeds the seeded corpus whole and in random chunks; reports any non-ProtocolError, slow input
// or over-buffering, plus a summary of outcomes by mutation kind and reason code.
import { PacketParser, ProtocolError } from '../src/protocol/index.js';
import { fuzzCorpus } from '../test/helpers/fuzz-corpus.js';
import { int, mulberry32 } from '../test/helpers/prng.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const iterations = arg('iterations', 1_000_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const rng = mulberry32(seed ^ 0x5eed);
const byKind = new Map<string, { total: number; rejected: number }>();
const byReason = new Map<number, number>();
const failures: string[] = [];
let slowest = 0;
const started = performance.now();

for (const input of fuzzCorpus(seed, iterations)) {
  const parser = new PacketParser({ protocolVersion: input.version, maxPacketSize: 64 * 1024 });
  const chunks: Buffer[] = [];
  if (rng() < 0.5) chunks.push(input.bytes);
  else for (let pos = 0; pos < input.bytes.length;) { const n = int(rng, 1, 16); chunks.push(input.bytes.subarray(pos, pos + n)); pos += n; }
  const t0 = performance.now();
  let rejected = false;
  try {
    for (const c of chunks) {
      parser.parse(c, () => undefined);
      if (parser.bufferedBytes > input.bytes.length) failures.push(`over-buffered ${input.kind} ${input.bytes.toString('hex')}`);
    }
  } catch (e) {
    rejected = true;
    if (e instanceof ProtocolError) byReason.set(e.reasonCode, (byReason.get(e.reasonCode) ?? 0) + 1);
    else failures.push(`${String(e)} for ${input.kind} v${input.version} ${input.bytes.toString('hex')}`);
  }
  slowest = Math.max(slowest, performance.now() - t0);
  const k = byKind.get(input.kind) ?? { total: 0, rejected: 0 };
  k.total++;
  if (rejected) k.rejected++;
  byKind.set(input.kind, k);
  if (failures.length >= 20) break;
}

const seconds = (performance.now() - started) / 1000;
console.log(`fuzz: ${iterations} inputs, seed ${seed}, ${seconds.toFixed(1)} s, slowest input ${slowest.toFixed(2)} ms`);
for (const [kind, k] of [...byKind].sort()) console.log(`  ${kind.padEnd(14)} ${String(k.total).padStart(9)} inputs, ${k.rejected} rejected`);
console.log('  rejections by reason code: ' + [...byReason].sort((a, b) => a[0] - b[0]).map(([rc, n]) => `0x${rc.toString(16)}=${n}`).join(' '));
if (failures.length > 0) {
  console.log(`FAILURES (${failures.length}):`);
  for (const f of failures) console.log('  ' + f);
  process.exitCode = 1;
} else {
  console.log('no failures');
}
