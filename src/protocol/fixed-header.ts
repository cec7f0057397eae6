// Fixed header checks (spec 2.2 / 5.0 2.1): packet type, reserved flag bits, and for v3.1.x the
// fixed body sizes — all judged from the first bytes, before any body is buffered.
//
// The flag rules differ by protocol level:
// - 3.1.1 and 5.0: every flag of a packet other than PUBLISH is reserved, with the value in the
//   table (0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE; 0000 otherwise); any other value is malformed
//   and closes the connection [v3:MQTT-2.2.2-1, v3:MQTT-2.2.2-2; v5:MQTT-2.1.3-1, v5 §2.1.3].
// - 3.1 (level 3): DUP, QoS and RETAIN are fields of every fixed header, not reserved bits. The 3.1
//   spec has PUBREL, SUBSCRIBE and UNSUBSCRIBE use QoS 1 and set DUP when resent (§2.1, §3.6, §3.8,
//   §3.10: a 3.1 client resending PUBREL sends 0x6A, which the 3.1.1 rule would close); the IBM
//   documents before it mark the PUBREL flags "not used", and in every other packet they are "not
//   used". So at level 3 the flags of packets other than PUBLISH are not judged, as Mosquitto
//   does not judge them for its 3.1 clients. PUBLISH keeps its rules (QoS 3, DUP on QoS 0).
// (CONNECT is judged before its level is known, by the 3.1.1 rule.)
import { MALFORMED, ProtocolError } from './errors.js';
import type { ProtocolVersion } from './types.js';

/** Required flag nibble per type; -1 for PUBLISH, whose flags carry DUP/QoS/RETAIN. */
const REQUIRED_FLAGS = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];
/** v3.1/v3.1.1 packets whose Remaining Length is fixed; -1 means variable. */
const V4_FIXED_LENGTH = [-1, -1, 2, -1, 2, 2, 2, 2, -1, -1, -1, 2, 0, 0, 0, -1];

export function checkFixedHeader(firstByte: number, remainingLength: number, version: ProtocolVersion): void {
  const type = firstByte >> 4;
  const flags = firstByte & 0x0f;
  if (type === 0 || (type === 15 && version < 5)) {
    throw new ProtocolError(`reserved packet type ${type}`, 'MQTT-2.2.1', MALFORMED);
  }
  const required = REQUIRED_FLAGS[type];
  // CONNECT's own level is not known yet here: decodeConnect judges its flags once it is.
  if (required >= 0 && flags !== required && type !== 1) checkFlags(type, flags, version);
  if (version < 5) {
    const fixed = V4_FIXED_LENGTH[type];
    if (fixed >= 0 && remainingLength !== fixed) {
      throw new ProtocolError(`Remaining Length ${remainingLength} for packet type ${type} must be ${fixed}`, 'MQTT-2.2.3', MALFORMED);
    }
  } else if ((type === 12 || type === 13) && remainingLength !== 0) {
    throw new ProtocolError('PINGREQ/PINGRESP must have Remaining Length 0', 'MQTT-2.2.3', MALFORMED);
  }
}

/** Flags other than the 3.1.1/5.0 table's: malformed, except at MQTT 3.1 (see the top). */
export function checkFlags(type: number, flags: number, version: ProtocolVersion): void {
  if (version === 3) return;
  const specId = type === 6 ? 'MQTT-3.6.1-1' : type === 8 ? 'MQTT-3.8.1-1' : type === 10 ? 'MQTT-3.10.1-1' : version === 5 ? 'v5:MQTT-2.1.3-1' : 'v3:MQTT-2.2.2-1';
  throw new ProtocolError(`invalid fixed header flags 0x${flags.toString(16)} for packet type ${type}`, specId, MALFORMED);
}
