// Seeded random *valid* packets of every type for a protocol version, in Starling's packet model.
// Used by the differential tests, the split-stream tests and the fuzz corpus.
import type { Packet, Properties, ProtocolVersion, QoS } from '../../src/protocol/index.js';
import { chance, int, pick, type Rng } from './prng.js';

const WORDS = ['a', 'b', 'sensor', 'temp', 'héllo', '日本', 'x-y', '$SYS', 'emoji😀', 'long-level-name'];

function str(rng: Rng, max = 3): string {
  const n = int(rng, 1, max);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(rng, WORDS);
  return s;
}

function bytes(rng: Rng, max: number): Buffer {
  const b = Buffer.allocUnsafe(int(rng, 0, max));
  for (let i = 0; i < b.length; i++) b[i] = int(rng, 0, 255);
  return b;
}

export function randomTopic(rng: Rng): string {
  const levels = int(rng, 1, 4);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) parts.push(chance(rng, 0.1) ? '' : str(rng, 2));
  const t = parts.join('/');
  return t.length === 0 ? 'a' : t;
}

function randomFilter(rng: Rng): string {
  const levels = int(rng, 1, 4);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) parts.push(chance(rng, 0.2) ? '+' : str(rng, 2));
  if (chance(rng, 0.3)) parts.push('#');
  return parts.join('/');
}

function userProperties(rng: Rng): Array<[string, string]> {
  // Distinct names: mqtt-packet's object form cannot keep the order of interleaved repeats.
  const n = int(rng, 1, 3);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) out.push([`k${i}${str(rng, 1)}`, str(rng, 2)]);
  return out;
}

type PropGen = (rng: Rng) => Properties;
const PROPS: Record<string, PropGen> = {
  connect: (rng) => ({ sessionExpiryInterval: int(rng, 0, 1e6), receiveMaximum: int(rng, 1, 65535), maximumPacketSize: int(rng, 1, 1e6), topicAliasMaximum: int(rng, 0, 100), requestResponseInformation: int(rng, 0, 1), requestProblemInformation: int(rng, 0, 1) }),
  will: (rng) => ({ willDelayInterval: int(rng, 0, 1e5), payloadFormatIndicator: int(rng, 0, 1), messageExpiryInterval: int(rng, 0, 1e5), contentType: str(rng), responseTopic: randomTopic(rng), correlationData: bytes(rng, 8) }),
  connack: (rng) => ({ sessionExpiryInterval: int(rng, 0, 1e5), receiveMaximum: int(rng, 1, 65535), maximumQoS: int(rng, 0, 1), retainAvailable: int(rng, 0, 1), maximumPacketSize: int(rng, 1, 1e6), assignedClientIdentifier: str(rng), topicAliasMaximum: int(rng, 0, 10), reasonString: str(rng), wildcardSubscriptionAvailable: 1, subscriptionIdentifiersAvailable: 0, sharedSubscriptionAvailable: 1, serverKeepAlive: int(rng, 0, 600), responseInformation: str(rng), serverReference: str(rng) }),
  publish: (rng) => ({ payloadFormatIndicator: int(rng, 0, 1), messageExpiryInterval: int(rng, 0, 1e5), topicAlias: int(rng, 1, 100), responseTopic: randomTopic(rng), correlationData: bytes(rng, 8), contentType: str(rng) }),
  ack: (rng) => ({ reasonString: str(rng) }),
  disconnect: (rng) => ({ sessionExpiryInterval: int(rng, 0, 1e5), reasonString: str(rng), serverReference: str(rng) }),
  auth: (rng) => ({ authenticationMethod: str(rng), authenticationData: bytes(rng, 8), reasonString: str(rng) }),
};

/** A random subset of the properties a context allows, sometimes with user properties. */
function props(rng: Rng, ctx: keyof typeof PROPS | 'none', version: ProtocolVersion): Properties | undefined {
  if (version !== 5 || chance(rng, 0.4)) return undefined;
  const out: Record<string, unknown> = {};
  if (ctx !== 'none') {
    for (const [k, v] of Object.entries(PROPS[ctx](rng))) if (chance(rng, 0.4)) out[k] = v;
  }
  if (chance(rng, 0.4)) out.userProperties = userProperties(rng);
  return Object.keys(out).length > 0 ? (out as Properties) : undefined;
}

const qos = (rng: Rng): QoS => int(rng, 0, 2) as QoS;
const id = (rng: Rng): number => int(rng, 1, 65535);

export const PACKET_KINDS = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'] as const;

export function randomPacket(rng: Rng, version: ProtocolVersion, kind = pick(rng, PACKET_KINDS.filter((k) => k !== 'auth' || version === 5))): Packet {
  switch (kind) {
    case 'connect': {
      const p: Packet = { cmd: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: chance(rng, 0.5), keepalive: int(rng, 0, 65535), clientId: chance(rng, 0.1) ? '' : str(rng) };
      const pr = props(rng, 'connect', version); if (pr) p.properties = pr;
      if (chance(rng, 0.5)) {
        p.will = { topic: randomTopic(rng), payload: bytes(rng, 20), qos: qos(rng), retain: chance(rng, 0.5) };
        const wp = props(rng, 'will', version); if (wp) p.will.properties = wp;
      }
      if (chance(rng, 0.5)) { p.username = str(rng); if (chance(rng, 0.5)) p.password = bytes(rng, 10); }
      return p;
    }
    case 'connack': {
      const p: Packet = { cmd: 'connack', sessionPresent: chance(rng, 0.5), reasonCode: version === 5 ? pick(rng, [0, 0x80, 0x84, 0x87]) : int(rng, 0, 5) };
      const pr = props(rng, 'connack', version); if (pr) p.properties = pr;
      return p;
    }
    case 'publish': {
      const q = qos(rng);
      const p: Packet = { cmd: 'publish', topic: randomTopic(rng), payload: bytes(rng, 64), qos: q, retain: chance(rng, 0.5), dup: q > 0 && chance(rng, 0.3) };
      if (q > 0) p.messageId = id(rng);
      const pr = props(rng, 'publish', version); if (pr) p.properties = pr;
      return p;
    }
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': {
      const p: Packet = { cmd: kind, messageId: id(rng) };
      if (version === 5 && chance(rng, 0.5)) p.reasonCode = kind === 'pubrel' || kind === 'pubcomp' ? pick(rng, [0, 0x92]) : pick(rng, [0, 0x10, 0x80, 0x87, 0x97]);
      const pr = props(rng, 'ack', version); if (pr) p.properties = pr;
      return p;
    }
    case 'subscribe': {
      const n = int(rng, 1, 4);
      const subscriptions = [];
      for (let i = 0; i < n; i++) {
        subscriptions.push(version === 5
          ? { topic: randomFilter(rng), qos: qos(rng), nl: chance(rng, 0.5), rap: chance(rng, 0.5), rh: int(rng, 0, 2) as 0 | 1 | 2 }
          : { topic: randomFilter(rng), qos: qos(rng) });
      }
      const p: Packet = { cmd: 'subscribe', messageId: id(rng), subscriptions };
      const pr = props(rng, 'none', version); if (pr) p.properties = pr;
      if (version === 5 && chance(rng, 0.3)) p.properties = { ...p.properties, subscriptionIdentifiers: [int(rng, 1, 268435455)] };
      return p;
    }
    case 'suback': {
      const codes = version === 5 ? [0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x97, 0x9e] : [0, 1, 2, 0x80];
      const p: Packet = { cmd: 'suback', messageId: id(rng), granted: Array.from({ length: int(rng, 1, 4) }, () => pick(rng, codes)) };
      const pr = props(rng, 'ack', version); if (pr) p.properties = pr;
      return p;
    }
    case 'unsubscribe': {
      const p: Packet = { cmd: 'unsubscribe', messageId: id(rng), unsubscriptions: Array.from({ length: int(rng, 1, 4) }, () => randomFilter(rng)) };
      const pr = props(rng, 'none', version); if (pr) p.properties = pr;
      return p;
    }
    case 'unsuback': {
      const p: Packet = { cmd: 'unsuback', messageId: id(rng) };
      if (version === 5) {
        p.reasonCodes = Array.from({ length: int(rng, 1, 4) }, () => pick(rng, [0, 0x11, 0x80, 0x87, 0x8f]));
        const pr = props(rng, 'ack', version); if (pr) p.properties = pr;
      }
      return p;
    }
    case 'pingreq': return { cmd: 'pingreq' };
    case 'pingresp': return { cmd: 'pingresp' };
    case 'disconnect': {
      const p: Packet = { cmd: 'disconnect' };
      if (version === 5) {
        if (chance(rng, 0.5)) p.reasonCode = pick(rng, [0, 0x04, 0x80, 0x8e, 0x93]);
        const pr = props(rng, 'disconnect', version); if (pr) p.properties = pr;
      }
      return p;
    }
    default: {
      const p: Packet = { cmd: 'auth', reasonCode: pick(rng, [0, 0x18, 0x19]) };
      const pr = props(rng, 'auth', version); if (pr) p.properties = pr;
      return p;
    }
  }
}
