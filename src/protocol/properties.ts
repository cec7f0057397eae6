// MQTT 5 properties (spec 2.2.2): one table says each property's identifier, data type and the
// packets that may carry it, so decode and encode cannot drift apart.
import { MALFORMED, PROTOCOL_ERROR, ProtocolError, SPEC_PROPERTIES, TOPIC_ALIAS_INVALID } from './errors.js';
import type { PacketReader } from './reader.js';
import type { Properties } from './types.js';
import { utf8Length, varintLength, writeBinary, writeU16, writeU32, writeUtf8, writeVarint } from './writer.js';

/** Where a property section sits; a bit each so the table can list several. */
export const Ctx = {
  connect: 1 << 0, will: 1 << 1, connack: 1 << 2, publish: 1 << 3, ack: 1 << 4, subscribe: 1 << 5,
  suback: 1 << 6, unsubscribe: 1 << 7, unsuback: 1 << 8, disconnect: 1 << 9, auth: 1 << 10,
} as const;

type PropType = 'byte' | 'bool' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';
interface PropDef { id: number; name: keyof Properties; type: PropType; ctx: number }

const C = Ctx;
const DEFS: PropDef[] = [
  { id: 0x01, name: 'payloadFormatIndicator', type: 'bool', ctx: C.publish | C.will },
  { id: 0x02, name: 'messageExpiryInterval', type: 'u32', ctx: C.publish | C.will },
  { id: 0x03, name: 'contentType', type: 'string', ctx: C.publish | C.will },
  { id: 0x08, name: 'responseTopic', type: 'string', ctx: C.publish | C.will },
  { id: 0x09, name: 'correlationData', type: 'binary', ctx: C.publish | C.will },
  { id: 0x0b, name: 'subscriptionIdentifiers', type: 'varint', ctx: C.publish | C.subscribe },
  { id: 0x11, name: 'sessionExpiryInterval', type: 'u32', ctx: C.connect | C.connack | C.disconnect },
  { id: 0x12, name: 'assignedClientIdentifier', type: 'string', ctx: C.connack },
  { id: 0x13, name: 'serverKeepAlive', type: 'u16', ctx: C.connack },
  { id: 0x15, name: 'authenticationMethod', type: 'string', ctx: C.connect | C.connack | C.auth },
  { id: 0x16, name: 'authenticationData', type: 'binary', ctx: C.connect | C.connack | C.auth },
  { id: 0x17, name: 'requestProblemInformation', type: 'bool', ctx: C.connect },
  { id: 0x18, name: 'willDelayInterval', type: 'u32', ctx: C.will },
  { id: 0x19, name: 'requestResponseInformation', type: 'bool', ctx: C.connect },
  { id: 0x1a, name: 'responseInformation', type: 'string', ctx: C.connack },
  { id: 0x1c, name: 'serverReference', type: 'string', ctx: C.connack | C.disconnect },
  { id: 0x1f, name: 'reasonString', type: 'string', ctx: C.connack | C.ack | C.suback | C.unsuback | C.disconnect | C.auth },
  { id: 0x21, name: 'receiveMaximum', type: 'u16', ctx: C.connect | C.connack },
  { id: 0x22, name: 'topicAliasMaximum', type: 'u16', ctx: C.connect | C.connack },
  { id: 0x23, name: 'topicAlias', type: 'u16', ctx: C.publish },
  { id: 0x24, name: 'maximumQoS', type: 'bool', ctx: C.connack },
  { id: 0x25, name: 'retainAvailable', type: 'bool', ctx: C.connack },
  { id: 0x26, name: 'userProperties', type: 'pair', ctx: 0x7ff },
  { id: 0x27, name: 'maximumPacketSize', type: 'u32', ctx: C.connect | C.connack },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', type: 'bool', ctx: C.connack },
  { id: 0x29, name: 'subscriptionIdentifiersAvailable', type: 'bool', ctx: C.connack },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', type: 'bool', ctx: C.connack },
];

const BY_ID: Array<PropDef | undefined> = [];
for (const d of DEFS) BY_ID[d.id] = d;

function protocolError(message: string, specId = SPEC_PROPERTIES): ProtocolError {
  return new ProtocolError(message, specId, PROTOCOL_ERROR);
}

/** Reads a Property Length and the properties after it; undefined when there are none. */
export function decodeProperties(r: PacketReader, ctx: number): Properties | undefined {
  const length = r.varint('property length');
  if (length === 0) return undefined;
  if (length > r.remaining) {
    throw new ProtocolError('property length exceeds the packet', SPEC_PROPERTIES, MALFORMED);
  }
  const outerEnd = r.end;
  r.end = r.pos + length; // property values may not run past the section
  const props: Properties = {};
  while (r.pos < r.end) {
    const id = r.varint('property identifier');
    const def = BY_ID[id];
    if (def === undefined) throw new ProtocolError(`unknown property 0x${id.toString(16)}`, SPEC_PROPERTIES, MALFORMED);
    if ((def.ctx & ctx) === 0) throw new ProtocolError(`property ${def.name} not allowed here`, SPEC_PROPERTIES, MALFORMED);
    readProperty(r, def, props, ctx);
  }
  r.end = outerEnd;
  return props;
}

function readProperty(r: PacketReader, def: PropDef, props: Properties, ctx: number): void {
  const p = props as Record<string, unknown>;
  const name = def.name;
  if (name === 'userProperties') {
    const key = r.utf8('user property name');
    const value = r.utf8('user property value');
    (props.userProperties ??= []).push([key, value]);
    return;
  }
  if (name === 'subscriptionIdentifiers') {
    const id = r.varint('subscription identifier');
    if (id === 0) throw protocolError('subscription identifier is 0', 'MQTT-3.8.2.1.2');
    const list = (props.subscriptionIdentifiers ??= []);
    // Only PUBLISH may carry several (one per matching subscription).
    if (list.length > 0 && ctx !== Ctx.publish) throw protocolError('subscription identifier repeated');
    list.push(id);
    return;
  }
  if (p[name] !== undefined) throw protocolError(`property ${name} repeated`);
  let value: number | string | Buffer;
  switch (def.type) {
    case 'bool':
      value = r.u8(name);
      if (value > 1) throw protocolError(`${name} must be 0 or 1`);
      break;
    case 'u16':
      value = r.u16(name);
      if (value === 0) {
        if (name === 'topicAlias') throw new ProtocolError('topic alias is 0', 'MQTT-3.3.2-8', TOPIC_ALIAS_INVALID);
        if (name === 'receiveMaximum') throw protocolError('receive maximum is 0', 'MQTT-3.1.2.11.3');
      }
      break;
    case 'u32':
      value = r.u32(name);
      if (value === 0 && name === 'maximumPacketSize') throw protocolError('maximum packet size is 0', 'MQTT-3.1.2.11.4');
      break;
    case 'string':
      value = r.utf8(name);
      if (name === 'responseTopic' && /[+#]/.test(value)) {
        throw protocolError('response topic contains a wildcard', 'MQTT-3.3.2-14');
      }
      break;
    case 'binary':
      value = r.binary(name);
      break;
    default:
      value = r.u8(name);
  }
  p[name] = value;
}

/** Bytes of the property section after its length field. */
export function propertiesBodyLength(props: Properties | undefined): number {
  if (props === undefined) return 0;
  let n = 0;
  for (const d of DEFS) {
    const v = props[d.name];
    if (v === undefined) continue;
    if (d.name === 'userProperties') {
      for (const [k, val] of v as Array<[string, string]>) n += 5 + utf8Length(k) + utf8Length(val);
    } else if (d.name === 'subscriptionIdentifiers') {
      for (const id of v as number[]) n += 1 + varintLength(id);
    } else {
      n += 1 + valueLength(d.type, v as number | string | Buffer);
    }
  }
  return n;
}

function valueLength(type: PropType, v: number | string | Buffer): number {
  switch (type) {
    case 'byte': case 'bool': return 1;
    case 'u16': return 2;
    case 'u32': return 4;
    case 'varint': return varintLength(v as number);
    case 'string': return 2 + utf8Length(v as string);
    default: return 2 + (v as Buffer).length;
  }
}

/** Size of Property Length + properties. */
export function propertiesLength(props: Properties | undefined): number {
  const body = propertiesBodyLength(props);
  return varintLength(body) + body;
}

/** Writes Property Length + properties; bodyLength from propertiesBodyLength. */
export function writeProperties(buf: Buffer, pos: number, props: Properties | undefined, bodyLength: number): number {
  pos = writeVarint(buf, pos, bodyLength);
  if (props === undefined) return pos;
  for (const d of DEFS) {
    const v = props[d.name];
    if (v === undefined) continue;
    if (d.name === 'userProperties') {
      for (const [k, val] of v as Array<[string, string]>) {
        buf[pos++] = d.id;
        pos = writeUtf8(buf, pos, k, utf8Length(k));
        pos = writeUtf8(buf, pos, val, utf8Length(val));
      }
    } else if (d.name === 'subscriptionIdentifiers') {
      for (const id of v as number[]) {
        buf[pos++] = d.id;
        pos = writeVarint(buf, pos, id);
      }
    } else {
      buf[pos++] = d.id;
      pos = writeValue(buf, pos, d.type, v as number | string | Buffer);
    }
  }
  return pos;
}

function writeValue(buf: Buffer, pos: number, type: PropType, v: number | string | Buffer): number {
  switch (type) {
    case 'byte': case 'bool': buf[pos] = v as number; return pos + 1;
    case 'u16': return writeU16(buf, pos, v as number);
    case 'u32': return writeU32(buf, pos, v as number);
    case 'varint': return writeVarint(buf, pos, v as number);
    case 'string': return writeUtf8(buf, pos, v as string, utf8Length(v as string));
    default: return writeBinary(buf, pos, v as Buffer);
  }
}
