// Converts between Starling's packet model and mqtt-packet's, and normalises both sides so the
// differential tests compare meaning, not each library's optional-field habits.
import type { Packet, Properties } from '../../../src/protocol/index.js';

type Obj = Record<string, any>;

/** Byte properties that mqtt-packet represents as booleans. */
const BOOLEAN_PROPS = ['payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation', 'retainAvailable', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable'];

function propsToTheirs(p: Properties | undefined): Obj | undefined {
  if (p === undefined) return undefined;
  const out: Obj = { ...p };
  for (const k of BOOLEAN_PROPS) if (out[k] !== undefined) out[k] = out[k] === 1;
  if (p.userProperties) {
    const up: Obj = {};
    for (const [k, v] of p.userProperties) up[k] = k in up ? [].concat(up[k], v as any) : v;
    out.userProperties = up;
  }
  if (p.subscriptionIdentifiers) {
    delete out.subscriptionIdentifiers;
    out.subscriptionIdentifier = p.subscriptionIdentifiers.length === 1 ? p.subscriptionIdentifiers[0] : p.subscriptionIdentifiers;
  }
  return out;
}

function propsToOurs(p: Obj | undefined): Properties | undefined {
  if (p === undefined || p === null || Object.keys(p).length === 0) return undefined;
  const out: Obj = { ...p };
  for (const k of BOOLEAN_PROPS) if (typeof out[k] === 'boolean') out[k] = out[k] ? 1 : 0;
  if (p.userProperties) {
    const pairs: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(p.userProperties)) for (const x of ([] as unknown[]).concat(v)) pairs.push([k, String(x)]);
    out.userProperties = pairs;
  }
  if (p.subscriptionIdentifier !== undefined) {
    delete out.subscriptionIdentifier;
    out.subscriptionIdentifiers = ([] as number[]).concat(p.subscriptionIdentifier);
  }
  return out as Properties;
}

/** Our packet as the object mqtt-packet's generate() expects. */
export function toTheirs(packet: Packet, version: number): Obj {
  const out: Obj = { ...packet };
  if ('properties' in packet && packet.properties) out.properties = propsToTheirs(packet.properties);
  switch (packet.cmd) {
    case 'connect':
      out.protocolId = packet.protocolName;
      delete out.protocolName;
      if (packet.will) out.will = { ...packet.will, properties: propsToTheirs(packet.will.properties) };
      break;
    case 'connack':
      if (version < 5) out.returnCode = packet.reasonCode;
      break;
    case 'unsuback':
      if (packet.reasonCodes) out.granted = packet.reasonCodes;
      break;
  }
  return out;
}

/** mqtt-packet's parsed object in our model (drops its fixed-header echo fields). */
export function fromTheirs(p: Obj, version: number): Packet {
  const out: Obj = { cmd: p.cmd };
  const props = propsToOurs(p.properties);
  switch (p.cmd) {
    case 'connect':
      Object.assign(out, { protocolName: p.protocolId, protocolVersion: p.protocolVersion, clean: p.clean, keepalive: p.keepalive, clientId: p.clientId });
      if (p.will) {
        out.will = { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain };
        const wp = propsToOurs(p.will.properties);
        if (wp) out.will.properties = wp;
      }
      if (p.username !== undefined) out.username = p.username;
      if (p.password !== undefined) out.password = p.password;
      break;
    case 'connack':
      Object.assign(out, { sessionPresent: p.sessionPresent, reasonCode: version === 5 ? p.reasonCode : p.returnCode });
      break;
    case 'publish':
      Object.assign(out, { topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup });
      if (p.qos > 0) out.messageId = p.messageId;
      break;
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp':
      out.messageId = p.messageId;
      if (p.reasonCode !== undefined) out.reasonCode = p.reasonCode;
      break;
    case 'subscribe':
      out.messageId = p.messageId;
      out.subscriptions = p.subscriptions.map((s: Obj) => (version === 5 ? { topic: s.topic, qos: s.qos, nl: s.nl ?? false, rap: s.rap ?? false, rh: s.rh ?? 0 } : { topic: s.topic, qos: s.qos }));
      break;
    case 'suback':
      Object.assign(out, { messageId: p.messageId, granted: p.granted });
      break;
    case 'unsubscribe':
      Object.assign(out, { messageId: p.messageId, unsubscriptions: p.unsubscriptions });
      break;
    case 'unsuback':
      out.messageId = p.messageId;
      if (version === 5) out.reasonCodes = p.granted ?? [];
      break;
    case 'disconnect':
      if (p.reasonCode !== undefined) out.reasonCode = p.reasonCode;
      break;
    case 'auth':
      out.reasonCode = p.reasonCode ?? 0;
      break;
  }
  if (props) out.properties = props;
  return normalise(out as Packet);
}

/** Treats "absent" and "Success / empty" the same where the spec makes them equivalent. */
export function normalise(packet: Packet): Packet {
  const out: Obj = { ...packet };
  if (out.properties !== undefined && Object.keys(out.properties).length === 0) delete out.properties;
  if ((['puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect'] as string[]).includes(out.cmd) && out.reasonCode === 0) delete out.reasonCode;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as Packet;
}
