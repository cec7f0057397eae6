// Codec throughput, ours vs mqtt-packet, in one run: node --import tsx scripts/bench-codec.ts
// Each case is measured in interleaved rounds (ours, theirs, ours, ...) and the median ops/s of
// the rounds is reported, so machine noise hits both sides alike. Parsing feeds a batch of 100
// packets per call (as a socket chunk would); serialising encodes one packet per call.
import mqttPacket from 'mqtt-packet';
import { encode, PacketParser, PreparedPublish, type Packet, type ProtocolVersion } from '../src/protocol/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const ROUND_MS = Number(process.env.ROUND_MS ?? 150);
const BATCH = 100;
const VERSION: ProtocolVersion = 4;

interface Case { name: string; ours: Packet; theirs: Record<string, unknown> }

function publish(size: number, qos: 0 | 1): Case {
  const payload = Buffer.alloc(size, 0x61);
  const p: Packet = { cmd: 'publish', topic: 'sensors/building-7/floor-3/temperature', payload, qos, retain: false, dup: false, ...(qos ? { messageId: 4242 } : {}) };
  return { name: `PUBLISH ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} QoS ${qos}`, ours: p, theirs: { ...p } };
}

const connect: Packet = { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'bench-client-0001', username: 'user', password: Buffer.from('secret'), will: { topic: 'clients/bench/status', payload: Buffer.from('offline'), qos: 1, retain: true } };
const subscribe: Packet = { cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'sensors/+/temperature', qos: 1 }, { topic: 'alerts/#', qos: 2 }, { topic: 'cmd/device-42', qos: 0 }] };

const CASES: Case[] = [
  publish(64, 0), publish(64, 1), publish(4096, 0), publish(4096, 1),
  { name: 'CONNECT', ours: connect, theirs: { ...connect, protocolId: 'MQTT' } },
  { name: 'SUBSCRIBE', ours: subscribe, theirs: { ...subscribe } },
];

/** Runs fn repeatedly for ROUND_MS; returns operations per second (fn returns ops done). */
function measure(fn: () => number): number {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ROUND_MS) {
    for (let i = 0; i < 20; i++) ops += fn();
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function compare(ours: () => number, theirs: () => number): [number, number] {
  measure(ours); // warm-up: let both reach optimised code before the rounds that count
  measure(theirs);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(measure(ours));
    b.push(measure(theirs));
  }
  return [median(a), median(b)];
}

let sink = 0;
const rows: string[] = [];
for (const c of CASES) {
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => encode(c.ours, VERSION)));
  const ourParser = new PacketParser({ protocolVersion: VERSION });
  const onOurs = (p: Packet): void => { sink += p.cmd.length; };
  const theirParser = mqttPacket.parser({ protocolVersion: VERSION });
  theirParser.on('packet', (p: { cmd: string }) => { sink += p.cmd.length; });
  const [parseOurs, parseTheirs] = compare(
    () => { ourParser.parse(batch, onOurs); return BATCH; },
    () => { theirParser.parse(batch); return BATCH; },
  );
  const [genOurs, genTheirs] = compare(
    () => { sink += encode(c.ours, VERSION).length; return 1; },
    () => { sink += mqttPacket.generate(c.theirs as any, { protocolVersion: VERSION }).length; return 1; },
  );
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  rows.push(`| ${c.name} | parse | ${fmt(parseOurs)} | ${fmt(parseTheirs)} | ${(parseOurs / parseTheirs).toFixed(2)}× |`);
  rows.push(`| ${c.name} | serialize | ${fmt(genOurs)} | ${fmt(genTheirs)} | ${(genOurs / genTheirs).toFixed(2)}× |`);
}

// Fan-out: one message to many QoS 1 subscribers. Ours prepares once and stamps a frame per
// subscriber; mqtt-packet has to generate each frame from scratch.
for (const size of [64, 4096]) {
  const payload = Buffer.alloc(size, 0x62);
  const topic = 'sensors/building-7/floor-3/temperature';
  let id = 0;
  const [ours, theirs] = compare(
    () => {
      const prepared = new PreparedPublish(topic, payload, VERSION);
      for (let i = 0; i < 100; i++) sink += prepared.frame(1, false, false, (id = (id % 65535) + 1)).length;
      return 100;
    },
    () => {
      for (let i = 0; i < 100; i++) sink += mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false, messageId: (id = (id % 65535) + 1) } as any).length;
      return 100;
    },
  );
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  rows.push(`| PUBLISH ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} QoS 1 fan-out to 100 (PreparedPublish) | serialize | ${fmt(ours)} | ${fmt(theirs)} | ${(ours / theirs).toFixed(2)}× |`);
}

console.log(`Node ${process.version}, MQTT 3.1.1, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, median; parse batches of ${BATCH} packets\n`);
console.log('| packet | direction | Starling ops/s | mqtt-packet ops/s | ratio |');
console.log('|---|---|---:|---:|---:|');
for (const r of rows) console.log(r);
if (sink === -1) console.log(sink);
