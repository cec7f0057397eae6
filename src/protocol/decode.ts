// Dispatches one complete frame to its packet decoder.
import { decodeAck } from './packets/ack.js';
import { decodeConnack } from './packets/connack.js';
import { decodeConnect } from './packets/connect.js';
import { decodeAuth, decodeDisconnect } from './packets/disconnect.js';
import { decodePublish } from './packets/publish.js';
import { decodeSubscribe } from './packets/subscribe.js';
import { decodeSuback, decodeUnsuback } from './packets/suback.js';
import { decodeUnsubscribe } from './packets/unsubscribe.js';
import type { PacketReader } from './reader.js';
import type { Packet, ProtocolVersion } from './types.js';

const PINGREQ = { cmd: 'pingreq' } as const;
const PINGRESP = { cmd: 'pingresp' } as const;

/** `r` spans the body; the fixed header has already passed checkFixedHeader. */
export function decodeBody(firstByte: number, r: PacketReader, version: ProtocolVersion): Packet {
  switch (firstByte >> 4) {
    case 1: return decodeConnect(r, firstByte & 0x0f);
    case 2: return decodeConnack(r, version);
    case 3: return decodePublish(r, firstByte & 0x0f, version);
    case 4: return decodeAck(r, 'puback', version);
    case 5: return decodeAck(r, 'pubrec', version);
    case 6: return decodeAck(r, 'pubrel', version);
    case 7: return decodeAck(r, 'pubcomp', version);
    case 8: return decodeSubscribe(r, version);
    case 9: return decodeSuback(r, version);
    case 10: return decodeUnsubscribe(r, version);
    case 11: return decodeUnsuback(r, version);
    case 12: return { ...PINGREQ };
    case 13: return { ...PINGRESP };
    case 14: return decodeDisconnect(r, version);
    default: return decodeAuth(r);
  }
}
