// UTF-8 string checks for MQTT strings [MQTT-1.5.3-1] (well-formed, no surrogates) and
// [MQTT-1.5.3-2] (no U+0000). Buffer.toString('utf8') silently replaces bad bytes with U+FFFD,
// so we must check the bytes before decoding them.
import { isUtf8 } from 'node:buffer';
import { MALFORMED, ProtocolError } from './errors.js';

/** Node's Buffer has these fast, unchecked slice decoders; @types/node does not declare them. */
interface FastSlices { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string }

/**
 * Decodes buf[start, end) as an MQTT UTF-8 string, throwing ProtocolError naming `field`.
 * Pure ASCII (the common case for topics and client ids) takes a byte loop and latin1 decode;
 * anything else goes through isUtf8, which rejects overlongs, surrogates and > U+10FFFF.
 */
export function decodeUtf8(buf: Buffer, start: number, end: number, field: string): string {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === 0) throw new ProtocolError(`${field} contains U+0000`, 'MQTT-1.5.3-2', MALFORMED);
    if (b >= 0x80) return decodeNonAscii(buf, i, start, end, field);
  }
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}

function decodeNonAscii(buf: Buffer, firstHigh: number, start: number, end: number, field: string): string {
  if (!isUtf8(buf.subarray(firstHigh, end))) {
    throw new ProtocolError(`${field} is not well-formed UTF-8`, 'MQTT-1.5.3-1', MALFORMED);
  }
  // isUtf8 accepts U+0000; the ASCII loop only checked bytes before firstHigh.
  const nul = buf.indexOf(0, firstHigh);
  if (nul !== -1 && nul < end) throw new ProtocolError(`${field} contains U+0000`, 'MQTT-1.5.3-2', MALFORMED);
  return (buf as unknown as FastSlices).utf8Slice(start, end);
}
