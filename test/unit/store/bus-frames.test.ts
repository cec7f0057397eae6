// The bus's wire formats and route table, without Redis.
import { describe, expect, it } from 'vitest';
import { messageCodec } from '../../../src/store/redis/codec.js';
import {
  decodeFlowAck,
  decodeMessagesFrame,
  encodeFlowAck,
  entryBytes,
  messagesFrameSender,
  TAG_FLOW_ACK,
  TAG_MESSAGES,
  TAG_MESSAGES_FROM,
  TAG_MESSAGES_SEQ,
  decodeRouteAnnouncement,
  decodeTextFields,
  encodeMessagesFrame,
  encodeRouteAck,
  encodeRouteAnnouncement,
  encodeTakeover,
  MarkedEntry,
  TAG_ROUTE_ACK,
  TAG_TAKEOVER,
  type RouteAnnouncement,
} from '../../../src/store/redis/node-frames.js';
import { RouteTable } from '../../../src/store/redis/routes.js';
import type { Message } from '../../../src/store/types.js';

const m = (topic: string, payload: string): Message => ({ topic, payload: Buffer.from(payload), qos: 1, retain: false });

describe('MESSAGES frames', () => {
  it('round-trip a batch in order, binary payloads intact', () => {
    const batch = [m('a/b', 'one'), { ...m('c', ''), payload: Buffer.from([0, 255, 10]) }, m('d/e/f', 'three')];
    const frame = encodeMessagesFrame(batch.map((x) => messageCodec.encode(x)), 'n1');
    const out: Message[] = [];
    decodeMessagesFrame(frame, messageCodec.decode, (x) => out.push(x));
    expect(out.map((x) => [x.topic, [...x.payload]])).toEqual(batch.map((x) => [x.topic, [...x.payload]]));
  });

  // Fails if an entry's number is not read (replay dedup and a session's two-copies check would
  // compare the wrong messages), or the sender/entry bytes of a numbered frame are misread.
  it('numbered frames give each message its origin (sender, its seq) and the send time; sender and entry bytes as 0x05', () => {
    const parts = [
      messageCodec.encodeNumbered(m('a', 'x'), 2 ** 40 + 7),
      new MarkedEntry(messageCodec.encodeNumbered(m('b', 'y'), 2 ** 40 + 9), ['$share/g/b']),
      messageCodec.encodeNumbered(m('c', 'z'), 2 ** 40 + 12),
    ];
    const counted = parts.reduce((sum, p) => sum + entryBytes(p), 0);
    const sentAt = 1_764_000_000_123;
    const frame = encodeMessagesFrame(parts, 'node-p', counted, { sentAt });
    expect(frame[0]).toBe(TAG_MESSAGES_SEQ);
    expect(messagesFrameSender(frame)).toEqual({ from: 'node-p', entries: counted });
    const out: Array<[string, string, Message['origin'], number | undefined, readonly string[] | undefined]> = [];
    decodeMessagesFrame(frame, messageCodec.decode, (x, groups) => out.push([x.topic, x.payload.toString(), x.origin, x.publishedAt, groups]));
    expect(out).toEqual([
      ['a', 'x', { sender: 'node-p', seq: 2 ** 40 + 7 }, sentAt, undefined],
      ['b', 'y', { sender: 'node-p', seq: 2 ** 40 + 9 }, sentAt, ['$share/g/b']],
      ['c', 'z', { sender: 'node-p', seq: 2 ** 40 + 12 }, sentAt, undefined],
    ]);
    expect(() => decodeMessagesFrame(frame.subarray(0, 10), messageCodec.decode, () => {})).toThrow(/truncated/);
  });

  it('a truncated frame throws instead of delivering garbage', () => {
    const frame = encodeMessagesFrame([messageCodec.encode(m('a', 'payload'))], 'n1');
    expect(() => decodeMessagesFrame(frame.subarray(0, frame.length - 2), messageCodec.decode, () => {})).toThrow(/truncated/);
    expect(() => decodeMessagesFrame(frame.subarray(0, 6), messageCodec.decode, () => {})).toThrow(/truncated/);
    expect(() => decodeMessagesFrame(frame.subarray(0, 3), messageCodec.decode, () => {})).toThrow(/truncated/);
  });

  it('carry their sender and the entry bytes that flow control counts, which the sender counted too', () => {
    const parts = [messageCodec.encode(m('a', 'x')), new MarkedEntry(messageCodec.encode(m('b', 'y')), ['$share/g/b'])];
    const counted = parts.reduce((sum, p) => sum + entryBytes(p), 0);
    const frame = encodeMessagesFrame(parts, 'host-1-42-abcdef');
    expect(frame[0]).toBe(TAG_MESSAGES_FROM);
    expect(messagesFrameSender(frame)).toEqual({ from: 'host-1-42-abcdef', entries: counted });
    expect(encodeMessagesFrame(parts, 'host-1-42-abcdef', counted).equals(frame)).toBe(true);
  });

  it('the older form without a sender (0x01, in limbo lists) is still read', () => {
    const withSender = encodeMessagesFrame([messageCodec.encode(m('a/b', 'old'))], 'n1');
    const old = Buffer.concat([Buffer.from([TAG_MESSAGES]), withSender.subarray(2 + 2)]);
    const out: string[] = [];
    decodeMessagesFrame(old, messageCodec.decode, (x) => out.push(`${x.topic}=${x.payload.toString()}`));
    expect(out).toEqual(['a/b=old']);
    expect(messagesFrameSender(old)).toBeUndefined();
  });

  it('flow acks carry the byte count and the acking node; a truncated one is ignored', () => {
    const ack = encodeFlowAck(123_456, 'node-7');
    expect(ack[0]).toBe(TAG_FLOW_ACK);
    expect(decodeFlowAck(ack)).toEqual({ bytes: 123_456, from: 'node-7' });
    expect(decodeFlowAck(ack.subarray(0, 4))).toBeNull();
  });
});

describe('MESSAGES frames with shared subscription groups', () => {
  it('plain and marked entries round-trip in one frame; only marked ones carry groups', () => {
    const frame = encodeMessagesFrame([
      messageCodec.encode(m('a', 'plain')),
      new MarkedEntry(messageCodec.encode(m('b', 'marked')), ['$share/g/b', '$share/h/#']),
      messageCodec.encode(m('c', 'plain again')),
    ], 'n1');
    const out: Array<[string, string, string[] | undefined]> = [];
    decodeMessagesFrame(frame, messageCodec.decode, (x, groups) => out.push([x.topic, x.payload.toString(), groups]));
    expect(out).toEqual([
      ['a', 'plain', undefined],
      ['b', 'marked', ['$share/g/b', '$share/h/#']],
      ['c', 'plain again', undefined],
    ]);
  });

  it('a marked entry cut inside its groups throws', () => {
    const frame = encodeMessagesFrame([new MarkedEntry(messageCodec.encode(m('b', 'x')), ['$share/g/b'])], 'n1');
    expect(() => decodeMessagesFrame(frame.subarray(0, 8), messageCodec.decode, () => {})).toThrow(/truncated/);
  });
});

describe('control frames and route announcements', () => {
  it('route acks and takeovers carry their fields', () => {
    const ack = encodeRouteAck(42, 'node-1');
    expect(ack[0]).toBe(TAG_ROUTE_ACK);
    expect(decodeTextFields(ack)).toEqual(['42', 'node-1']);
    const takeover = encodeTakeover('client/with spaces', 'conn:7', 9);
    expect(takeover[0]).toBe(TAG_TAKEOVER);
    expect(decodeTextFields(takeover)).toEqual(['client/with spaces', 'conn:7', '9']);
  });

  it('announcements round-trip, filters with spaces and wildcards included', () => {
    const all: RouteAnnouncement[] = [
      { kind: 'add', nodeId: 'n1', seq: 7, filter: 'a b/+/#' },
      { kind: 'remove', nodeId: 'n1', filter: '$SYS/#' },
      { kind: 'rejoin', nodeId: 'n2' },
      { kind: 'gone', nodeId: 'dead', seq: 3, origin: 'n3' },
    ];
    for (const a of all) expect(decodeRouteAnnouncement(encodeRouteAnnouncement(a))).toEqual(a);
  });

  it('malformed announcements are ignored, not thrown', () => {
    for (const text of ['', 'a', 'q\0n\0f', 'a\0n', 'a\0n\0notanumber\0f', 'x\0n\0']) expect(decodeRouteAnnouncement(text)).toBeNull();
  });
});

describe('RouteTable', () => {
  it('finds each matching node once, even through several matching filters', () => {
    const table = new RouteTable();
    table.add('n1', 'a/+');
    table.add('n1', 'a/#');
    table.add('n2', 'a/b');
    table.add('n3', 'x/#');
    expect([...table.nodesFor('a/b')].sort()).toEqual(['n1', 'n2']);
    expect([...table.nodesFor('x')]).toEqual(['n3']);
    expect([...table.nodesFor('nothing')]).toEqual([]);
  });

  it('drops and replaces a node as a whole', () => {
    const table = new RouteTable();
    table.add('n1', 'a');
    table.add('n1', 'b');
    table.add('n2', 'a');
    table.dropNode('n1');
    expect([...table.nodesFor('a')]).toEqual(['n2']);
    expect([...table.nodesFor('b')]).toEqual([]);
    table.replaceNode('n2', ['c']);
    expect([...table.nodesFor('a')]).toEqual([]);
    expect([...table.nodesFor('c')]).toEqual(['n2']);
    expect(table.size).toBe(1);
  });

  it('keeps shared subscription routes apart: not in nodesFor, one entry per group with its nodes', () => {
    const table = new RouteTable();
    table.add('n1', '$share/g/a/+');
    table.add('n2', '$share/g/a/+');
    table.add('n2', '$share/g/a/+'); // a repeated announcement
    table.add('n3', '$share/h/a/#');
    table.add('n3', 'a/b');
    expect([...table.nodesFor('a/b')]).toEqual(['n3']);
    const seen: Array<[string, string[]]> = [];
    table.matchShared('a/b', (route) => seen.push([route.group, [...route.nodes]]));
    expect(seen.sort()).toEqual([['$share/g/a/+', ['n1', 'n2']], ['$share/h/a/#', ['n3']]]);
    expect(table.sharedCount).toBe(2);
    table.remove('n1', '$share/g/a/+');
    table.dropNode('n3');
    seen.length = 0;
    table.matchShared('a/b', (route) => seen.push([route.group, [...route.nodes]]));
    expect(seen).toEqual([['$share/g/a/+', ['n2']]]);
    table.dropNode('n2');
    expect(table.sharedCount).toBe(0);
    expect(table.size).toBe(0);
  });

  it('tracks which nodes have a connected member of a group through its {group}\\0online route', () => {
    const table = new RouteTable();
    table.add('n1', '$share/g/a');
    table.add('n2', '$share/g/a');
    table.add('n2', '$share/g/a\0online');
    const seen: Array<[string[], string[]]> = [];
    table.matchShared('a', (route) => seen.push([[...route.nodes], [...route.online]]));
    expect(seen).toEqual([[['n1', 'n2'], ['n2']]]);
    expect(table.size).toBe(0); // never a normal route
    table.remove('n2', '$share/g/a\0online');
    table.remove('n2', '$share/g/a');
    table.remove('n1', '$share/g/a');
    expect(table.sharedCount).toBe(0);
    expect(table.size).toBe(0);
  });
});
