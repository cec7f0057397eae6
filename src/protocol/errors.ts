// Typed errors. Each carries the MQTT 5 reason code a broker answers with (and a rule break names
// the spec statement it breaks), so the broker turns errors into answers in one place
// (broker/answers.ts): CONNACK, DISCONNECT, or a plain close for MQTT 3.1/3.1.1.

/** Why a CONNECT is refused or a connection ends, as a v5 reason code (the v3 answer is derived). */
export class MqttError extends Error {
  readonly reasonCode: number;

  constructor(message: string, reasonCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MqttError';
    this.reasonCode = reasonCode;
  }
}

/** A rule of the specification broken by the peer: the statement is part of the message. */
export class ProtocolError extends MqttError {
  readonly specId: string;
  /** Set when the CONNECT that broke the rule could not be decoded: the level it announced. */
  connectVersion: 3 | 4 | 5 | undefined;

  constructor(message: string, specId: string, reasonCode: number) {
    super(`${message} [${specId}]`, reasonCode);
    this.name = 'ProtocolError';
    this.specId = specId;
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
