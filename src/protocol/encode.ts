// Serialises any packet for a protocol version, dispatching to packets/*.ts.
import { encodeAck } from './packets/ack.js';
import { encodeConnack } from './packets/connack.js';
import { encodeConnect } from './packets/connect.js';
import { encodeAuth, encodeDisconnect } from './packets/disconnect.js';
import { encodePublish } from './packets/publish.js';
import { encodeSubscribe } from './packets/subscribe.js';
import { encodeSuback, encodeUnsuback } from './packets/suback.js';
import { encodeUnsubscribe } from './packets/unsubscribe.js';
import type { Packet, ProtocolVersion } from './types.js';

const PINGREQ = Buffer.from([0xc0, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);

export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.cmd) {
    case 'publish': return encodePublish(packet, version);
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': return encodeAck(packet, version);
    case 'connect': return encodeConnect(packet, version);
    case 'connack': return encodeConnack(packet, version);
    case 'subscribe': return encodeSubscribe(packet, version);
    case 'suback': return encodeSuback(packet, version);
    case 'unsubscribe': return encodeUnsubscribe(packet, version);
    case 'unsuback': return encodeUnsuback(packet, version);
    // Fresh copies: callers may mutate what we return.
    case 'pingreq': return Buffer.from(PINGREQ);
    case 'pingresp': return Buffer.from(PINGRESP);
    case 'disconnect': return encodeDisconnect(packet, version);
    case 'auth': return encodeAuth(packet, version);
  }
}
