// Typed codec errors. Every violation names the spec statement it breaks and the MQTT 5 reason
// code a broker answers with, so the broker turns errors into CONNACK/DISCONNECT codes in one place.

export class ProtocolError extends Error {
  readonly specId: string;
  readonly reasonCode: number;

  constructor(message: string, specId: string, reasonCode: number) {
    super(`${message} [${specId}]`);
    this.name = 'ProtocolError';
    this.specId = specId;
    this.reasonCode = reasonCode;
  }
}

/**
 * CONNECT with a protocol level we do not speak [MQTT-3.1.2-2]. A distinct class because the
 * broker must still answer CONNACK 0x01 (v3.1.1) / 0x84 (v5) before closing.
 */
export class UnsupportedProtocolVersionError extends ProtocolError {
  readonly protocolLevel: number;

  constructor(protocolLevel: number) {
    super(`unsupported protocol level ${protocolLevel}`, 'MQTT-3.1.2-2', 0x84);
    this.name = 'UnsupportedProtocolVersionError';
    this.protocolLevel = protocolLevel;
  }
}

/** Reason codes the codec raises (spec 2.4). */
export const MALFORMED = 0x81;
export const PROTOCOL_ERROR = 0x82;
export const UNSUPPORTED_VERSION = 0x84;
export const TOPIC_FILTER_INVALID = 0x8f;
export const TOPIC_NAME_INVALID = 0x90;
export const TOPIC_ALIAS_INVALID = 0x94;
export const PACKET_TOO_LARGE = 0x95;

/**
 * Spec ids for rules that the specs state in prose without a numbered statement. We cite the
 * section so the error still points to the text.
 */
export const SPEC_REMAINING_LENGTH = 'MQTT-2.2.3';      // 3.1.1 §2.2.3 / 5.0 §2.1.4: Remaining Length = bytes that follow
export const SPEC_VARIABLE_BYTE_INTEGER = 'MQTT-1.5.5'; // 5.0 §1.5.5: at most four bytes
export const SPEC_PROPERTIES = 'MQTT-2.2.2.2';          // 5.0 §2.2.2.2: property identifiers valid for the packet
