// What travels on a node's own channel ({p}node:{nodeId}) and on the routes channel ({p}routes).
//
// Node channel: binary frames, first byte a tag.
//   0x01 MESSAGES  [u32 length][codec bytes]...   a batch of bus messages (one PUBLISH per target
//                                                  node per event-loop turn); also the entry format
//                                                  of {p}limbo:{nodeId} lists. An entry whose length
//                                                  has bit 31 set is marked for shared subscription
//                                                  groups: [u16 n][groups, utf8 NUL-joined][codec bytes]
//                                                  ("also deliver to one member of each of these")
//   0x02 ROUTE_ACK utf8 "seq\0ackingNodeId"         "I have applied your route announcement seq"
//   0x03 TAKEOVER  utf8 "clientId\0connectionId\0epoch"  a newer claim took clientId from this node
//   0x04 QUEUED    utf8 "clientId"                  messages for clientId (held here) were appended to
//                                                  its queue by another node: deliver them if it is online
//   0x05 MESSAGES  [u8 n][sender id][entries as 0x01]  what nodes send now: 0x01 with its sender, whom the
//                                                  receiver acks (bus-flow.ts); 0x01 is still read (limbo)
//   0x06 FLOW_ACK  [u32 bytes][utf8 ackingNodeId]  "I have processed this many entry bytes of yours"
//   0x07 MESSAGES  [u8 n][sender id][u48 sentAt ms][entries as 0x01, each message [u48 seq][codec bytes]]
//                                                  what nodes send now: 0x05 numbered. The sender numbers every
//                                                  message it publishes (one counter, whatever the targets), so a
//                                                  replay after a receiver's death can skip what its sessions took
//                                                  (store/types.ts ReplayOrigin) and a session can tell two copies
//                                                  of one message apart; sentAt tells a replay which subscriptions
//                                                  existed when the message was published.
//
// Routes channel: utf8 fields joined by NUL (MQTT forbids U+0000 in topics and filters, and node
// ids are ours), the filter always last:
//   "a\0node\0seq\0filter"  node added a route; every receiver applies it, then acks seq to node
//   "r\0node\0filter"       node removed a route
//   "j\0node"               node (re)wrote its whole routes hash (start, or Redis came back): reload it
//   "x\0node\0seq\0origin" node is gone: drop every route of it, then ack seq to origin (the recoverer)
import type { Message } from '../types.js';

/** Binary message serialization (codec.ts); injected so the frame layer stays independent of it. */
export interface MessageCodec {
  encode(message: Message): Buffer;
  decode(bytes: Buffer): Message;
  /** [u48 seq][encode(message)]: a message as a numbered frame carries it. */
  encodeNumbered(message: Message, seq: number): Buffer;
}

export const TAG_MESSAGES = 0x01;
export const TAG_ROUTE_ACK = 0x02;
export const TAG_TAKEOVER = 0x03;
export const TAG_QUEUED = 0x04;
export const TAG_MESSAGES_FROM = 0x05;
export const TAG_FLOW_ACK = 0x06;
export const TAG_MESSAGES_SEQ = 0x07;
/** A node's own probe, sent to check that its (sharded) subscription is in effect: `token`. */
export const TAG_PROBE = 0x08;
/** A MESSAGES frame nobody heard live, as pushed onto its target's limbo: TAG_UNHEARD + the frame. */
export const TAG_UNHEARD = 0x09;

/** The frame as it goes into a limbo because its PUBLISH found no subscriber (see Origin.unheard). */
export function markUnheard(frame: Buffer): Buffer {
  return Buffer.concat([Buffer.of(TAG_UNHEARD), frame]);
}

const MARKED = 0x8000_0000;

/** An encoded message for one node together with the shared subscription groups it was chosen for. */
export class MarkedEntry {
  private readonly groupBytes: Buffer;

  constructor(readonly encoded: Buffer, groups: readonly string[]) {
    this.groupBytes = Buffer.from(groups.join('\0'), 'utf8');
    if (this.groupBytes.length > 0xffff) throw new Error('bus frame: too many shared subscription groups for one message');
  }

  /** Bytes after the entry's length field. */
  get length(): number {
    return 2 + this.groupBytes.length + this.encoded.length;
  }

  writeTo(frame: Buffer, at: number): void {
    frame.writeUInt16BE(this.groupBytes.length, at);
    this.groupBytes.copy(frame, at + 2);
    this.encoded.copy(frame, at + 2 + this.groupBytes.length);
  }
}

/** Bytes a part takes in a MESSAGES frame (its length field included): what flow control counts. */
export function entryBytes(part: Buffer | MarkedEntry): number {
  return 4 + part.length;
}

/**
 * One MESSAGES frame holding every message in `parts` (already encoded by the codec; some marked
 * with groups), from node `from`. `entries` is the sum of entryBytes(part), known to the caller.
 */
export function encodeMessagesFrame(parts: ReadonlyArray<Buffer | MarkedEntry>, from: string, entries?: number, numbered?: { sentAt: number }): Buffer {
  let size = entries ?? 0;
  if (entries === undefined) for (const part of parts) size += entryBytes(part);
  const fromLength = Buffer.byteLength(from, 'utf8');
  if (fromLength > 0xff) throw new Error('bus frame: node id longer than 255 bytes');
  const header = 2 + fromLength + (numbered === undefined ? 0 : 6);
  const frame = Buffer.allocUnsafe(header + size);
  frame[0] = numbered === undefined ? TAG_MESSAGES_FROM : TAG_MESSAGES_SEQ;
  frame[1] = fromLength;
  frame.write(from, 2, 'utf8');
  if (numbered !== undefined) frame.writeUIntBE(numbered.sentAt, 2 + fromLength, 6);
  let at = header;
  for (const part of parts) {
    if (part instanceof MarkedEntry) {
      frame.writeUInt32BE((part.length | MARKED) >>> 0, at);
      part.writeTo(frame, at + 4);
    } else {
      frame.writeUInt32BE(part.length, at);
      part.copy(frame, at + 4);
    }
    at += 4 + part.length;
  }
  return frame;
}

/** Whether frame is a MESSAGES frame (either form). */
export function isMessagesFrame(frame: Buffer): boolean {
  return frame[0] === TAG_MESSAGES_SEQ || frame[0] === TAG_MESSAGES_FROM || frame[0] === TAG_MESSAGES;
}

/** Offset of the first entry of a MESSAGES frame (after the tag and, in 0x05/0x07, the sender and numbering). */
function entriesStart(frame: Buffer): number {
  if (frame[0] === TAG_MESSAGES) return 1;
  const start = 2 + (frame[1] ?? 0) + (frame[0] === TAG_MESSAGES_SEQ ? 6 : 0);
  if (frame.length < 2 || start > frame.length) throw new Error('bus frame: truncated sender');
  return start;
}

/** The sender of a 0x05/0x07 MESSAGES frame and the entry bytes it carries; undefined for 0x01. */
export function messagesFrameSender(frame: Buffer): { from: string; entries: number } | undefined {
  if (frame[0] !== TAG_MESSAGES_FROM && frame[0] !== TAG_MESSAGES_SEQ) return undefined;
  const start = entriesStart(frame);
  return { from: frame.toString('utf8', 2, 2 + frame[1]!), entries: frame.length - start };
}

/** Calls visit for each message of a MESSAGES frame (with its groups, if marked); throws on a truncated frame. */
export function decodeMessagesFrame(frame: Buffer, decode: MessageCodec['decode'], visit: (message: Message, groups: string[] | undefined) => void): void {
  let at = entriesStart(frame);
  if (frame[0] === TAG_MESSAGES_SEQ) {
    // Numbered: each message gets its origin (sender, its seq) and the time it was sent.
    const n = frame[1]!;
    const sender = frame.toString('utf8', 2, 2 + n);
    const sentAt = frame.readUIntBE(2 + n, 6);
    const plain = decode;
    decode = (bytes) => {
      if (bytes.length < 6) throw new Error('bus frame: truncated sequence number');
      const message = plain(bytes.subarray(6));
      message.origin = { sender, seq: bytes.readUIntBE(0, 6) };
      message.publishedAt = sentAt;
      return message;
    };
  }
  while (at < frame.length) {
    if (at + 4 > frame.length) throw new Error('bus frame: truncated length');
    const word = frame.readUInt32BE(at);
    const length = word & ~MARKED;
    const end = at + 4 + length;
    if (end > frame.length) throw new Error('bus frame: truncated message');
    if ((word & MARKED) === 0) {
      visit(decode(frame.subarray(at + 4, end)), undefined);
    } else {
      if (length < 2) throw new Error('bus frame: truncated groups');
      const n = frame.readUInt16BE(at + 4);
      if (2 + n > length) throw new Error('bus frame: truncated groups');
      const groups = frame.toString('utf8', at + 6, at + 6 + n).split('\0');
      visit(decode(frame.subarray(at + 6 + n, end)), groups);
    }
    at = end;
  }
}

export function encodeFlowAck(bytes: number, nodeId: string): Buffer {
  const id = Buffer.from(nodeId, 'utf8');
  const frame = Buffer.allocUnsafe(5 + id.length);
  frame[0] = TAG_FLOW_ACK;
  frame.writeUInt32BE(Math.min(bytes, 0xffff_ffff), 1);
  id.copy(frame, 5);
  return frame;
}

/** Null for a truncated ack. */
export function decodeFlowAck(frame: Buffer): { bytes: number; from: string } | null {
  if (frame.length < 6) return null;
  return { bytes: frame.readUInt32BE(1), from: frame.toString('utf8', 5) };
}

export function encodeRouteAck(seq: number, nodeId: string): Buffer {
  return taggedText(TAG_ROUTE_ACK, `${seq}\0${nodeId}`);
}

/** For ownership.ts: tells the node holding clientId that a newer claim (epoch) took it (clean: with Clean Start). */
export function encodeTakeover(clientId: string, connectionId: string, epoch: number, clean = false): Buffer {
  return taggedText(TAG_TAKEOVER, `${clientId}\0${connectionId}\0${epoch}${clean ? '\0clean' : ''}`);
}

/** For recovery: tells the node holding clientId that its queue got messages (forwarded from a dead node). */
export function encodeQueued(clientId: string): Buffer {
  return taggedText(TAG_QUEUED, clientId);
}

export function decodeTextFields(frame: Buffer): string[] {
  return frame.toString('utf8', 1).split('\0');
}

function taggedText(tag: number, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const frame = Buffer.allocUnsafe(1 + body.length);
  frame[0] = tag;
  body.copy(frame, 1);
  return frame;
}

export type RouteAnnouncement =
  | { kind: 'add'; nodeId: string; seq: number; filter: string }
  | { kind: 'remove'; nodeId: string; filter: string }
  | { kind: 'rejoin'; nodeId: string }
  /** nodeId is gone; `origin` (the recovering node) waits for every node's ack of seq. */
  | { kind: 'gone'; nodeId: string; seq: number; origin: string };

/** Announcements that the sender waits on: whom to ack, with which seq. */
export function ackTarget(a: RouteAnnouncement): { to: string; seq: number } | null {
  if (a.kind === 'add') return { to: a.nodeId, seq: a.seq };
  if (a.kind === 'gone') return { to: a.origin, seq: a.seq };
  return null;
}

export function encodeRouteAnnouncement(a: RouteAnnouncement): string {
  switch (a.kind) {
    case 'add':
      return `a\0${a.nodeId}\0${a.seq}\0${a.filter}`;
    case 'remove':
      return `r\0${a.nodeId}\0${a.filter}`;
    case 'rejoin':
      return `j\0${a.nodeId}`;
    case 'gone':
      return `x\0${a.nodeId}\0${a.seq}\0${a.origin}`;
  }
}

/** Null for anything malformed (the channel is shared; a stray publisher must not crash a node). */
export function decodeRouteAnnouncement(text: string): RouteAnnouncement | null {
  if (text.length < 3 || text[1] !== '\0') return null;
  const kind = text[0];
  if (kind === 'j') return { kind: 'rejoin', nodeId: text.slice(2) };
  const second = text.indexOf('\0', 2);
  if (second === -1) return null;
  const nodeId = text.slice(2, second);
  if (kind === 'r') return { kind: 'remove', nodeId, filter: text.slice(second + 1) };
  if (kind !== 'a' && kind !== 'x') return null;
  const third = text.indexOf('\0', second + 1);
  if (third === -1) return null;
  const seq = Number(text.slice(second + 1, third));
  if (!Number.isInteger(seq)) return null;
  const last = text.slice(third + 1);
  return kind === 'a' ? { kind: 'add', nodeId, seq, filter: last } : { kind: 'gone', nodeId, seq, origin: last };
}
