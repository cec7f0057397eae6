// The codec's public API: pure functions and one stateful parser; no I/O, no logging.
export * from './types.js';
export { MqttError, ProtocolError, UnsupportedProtocolVersionError } from './errors.js';
export { ReasonCode, ConnackReturnCode, CONNACK_CODES, SERVER_DISCONNECT_CODES, v3ConnackCode } from './reason-codes.js';
export { PacketParser, DEFAULT_MAX_PACKET_SIZE, type PacketParserOptions } from './parser.js';
export { encode } from './encode.js';
export { PreparedPublish } from './prepared-publish.js';
export { validateTopicName, validateTopicFilter, isValidTopicFilter, isValidTopicName, isSharedSubscription, parseSharedSubscription, type SharedFilter } from './topic.js';
