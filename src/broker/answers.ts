// The one place that turns errors into what the client is told. Handlers throw (MqttError,
// ProtocolError) or return; this file decides from the error and the connection's state whether
// the answer is a CONNACK, a DISCONNECT, a failure code in an acknowledgement, or a plain close
// (MQTT 3.1/3.1.1 has no DISCONNECT from the server and only five CONNACK codes). It also builds
// the packets that must respect what the client asked for in CONNECT: its Maximum Packet Size
// [v5:MQTT-3.1.2-24] and Request Problem Information [MQTT-3.1.2-29].
import {
  CONNACK_CODES,
  encode,
  MqttError,
  ProtocolError,
  ReasonCode,
  SERVER_DISCONNECT_CODES,
  UnsupportedProtocolVersionError,
  v3ConnackCode,
  type Properties,
} from '../protocol/index.js';
import type { Connection } from './connection.js';
import { logRefused } from './connection-log.js';
import { LoginFailedError } from './auth/failed-logins.js';

/** How a client's connection is answered when handling its input failed (Connection.fail). */
export function answerError(conn: Connection, err: unknown): void {
  if (conn.state === 'closed') return;
  if (err instanceof UnsupportedProtocolVersionError) {
    // In the v3.1.1 form: a client speaking an unknown level can still read it [MQTT-3.1.2-2].
    const connack = encode({ cmd: 'connack', sessionPresent: false, reasonCode: 0x01 }, 4);
    const reason = `unsupported protocol level ${err.protocolLevel}`;
    conn.host.counters.refused(ReasonCode.UnsupportedProtocolVersion);
    logRefused(conn, ReasonCode.UnsupportedProtocolVersion, reason);
    conn.close(reason, { will: false, connack });
    return;
  }
  if (!(err instanceof MqttError)) {
    conn.host.log.error({ err, clientId: conn.clientId }, 'internal error handling a packet: closing connection');
    err = new MqttError('internal error', ReasonCode.ImplementationSpecificError);
  }
  const { reasonCode, message } = err as MqttError;
  if (reasonCode === ReasonCode.PacketTooLarge) conn.host.log.warn({ clientId: conn.clientId, remote: conn.socket.remoteAddress }, 'packet over --max-packet-size: closing connection');
  if (conn.state === 'new' && err instanceof ProtocolError && err.connectVersion !== undefined) {
    // The CONNECT could not be decoded, but said which version its client speaks: answer in it.
    conn.version = err.connectVersion;
  }
  if (conn.state === 'new' || conn.state === 'connecting') {
    // Before the session exists: CONNACK with the code, then close [v3:MQTT-3.2.2-5] [v5:MQTT-3.2.2-7].
    // No will: a refused CONNECT leaves nothing behind [v3:MQTT-3.1.4-5] [v5:MQTT-3.1.4-6].
    // A failed login has its own line (auth/failed-login-log.ts), once per address per interval.
    // A store outage names what failed (which server, which command error): the operator's first question.
    if (!(err instanceof LoginFailedError)) logRefused(conn, reasonCode, message, (err as Error).cause);
    conn.host.counters.refused(reasonCode);
    conn.close(message, { will: false, connack: refusalConnack(conn, reasonCode, err instanceof ProtocolError ? message : undefined) });
    return;
  }
  // Connected: v5 DISCONNECT with the code; a protocol error publishes the will [MQTT-3.1.2-8].
  conn.close(message, { will: true, disconnectCode: reasonCode, reasonString: err instanceof ProtocolError ? message : undefined });
}

/**
 * The CONNACK refusing a CONNECT: v5 carries the code (one a CONNACK may carry: other rule breaks
 * are Protocol Errors); v3.1/v3.1.1 only the return codes 1..5 it has, otherwise none at all:
 * the connection is just closed [v3:MQTT-3.2.2-6].
 */
function refusalConnack(conn: Connection, reasonCode: number, reasonString: string | undefined): Buffer | undefined {
  if (conn.version !== 5) {
    const code = v3ConnackCode(reasonCode);
    return code === undefined ? undefined : encode({ cmd: 'connack', sessionPresent: false, reasonCode: code }, conn.version);
  }
  const code = CONNACK_CODES.has(reasonCode) && reasonCode >= 0x80 ? reasonCode : ReasonCode.ProtocolError;
  return connackFrame(conn, false, code, reasonString === undefined ? undefined : { reasonString });
}

/**
 * A CONNACK as the client can take it: v5 properties are left out, least needed first, until the
 * packet fits the client's Maximum Packet Size [v5:MQTT-3.1.2-24]: the reason string and user
 * properties first [MQTT-3.2.2-19, MQTT-3.2.2-20], the assigned client id and keep-alive last.
 */
export function connackFrame(conn: Connection, sessionPresent: boolean, reasonCode: number, properties?: Properties): Buffer {
  const version = conn.version;
  // MQTT 3.1 has no session present flag: that byte is reserved (0).
  const present = version !== 3 && sessionPresent;
  if (version !== 5 || properties === undefined) return encode({ cmd: 'connack', sessionPresent: present, reasonCode }, version);
  const props: Properties = { ...properties };
  let frame = encode({ cmd: 'connack', sessionPresent: present, reasonCode, properties: props }, 5);
  for (const key of CONNACK_DROP_ORDER) {
    if (frame.length <= conn.maxPacketSize) break;
    if (props[key] === undefined) continue;
    delete props[key];
    frame = encode({ cmd: 'connack', sessionPresent: present, reasonCode, properties: props }, 5);
  }
  return frame;
}

/** CONNACK properties in the order they are left out when the client's limit is tight. */
const CONNACK_DROP_ORDER: ReadonlyArray<keyof Properties> = [
  'reasonString',
  'userProperties',
  'responseInformation',
  'serverReference',
  'maximumPacketSize',
  'topicAliasMaximum',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
  'retainAvailable',
  'maximumQoS',
  'receiveMaximum',
  'authenticationData',
  'authenticationMethod',
  'sessionExpiryInterval',
  'serverKeepAlive',
  'assignedClientIdentifier',
];

/**
 * The DISCONNECT a v5 client gets before the close, or undefined (v3.1/3.1.1: the server never
 * sends DISCONNECT). The reason string goes only if the packet still fits the client's limit.
 */
export function disconnectFrame(conn: Connection, reasonCode: number, reasonString?: string): Buffer | undefined {
  if (conn.version !== 5) return undefined;
  const code = SERVER_DISCONNECT_CODES.has(reasonCode) ? reasonCode : ReasonCode.UnspecifiedError;
  if (reasonString !== undefined) {
    const frame = encode({ cmd: 'disconnect', reasonCode: code, properties: { reasonString } }, 5);
    if (frame.length <= conn.maxPacketSize) return frame;
  }
  return encode({ cmd: 'disconnect', reasonCode: code }, 5);
}

/**
 * The code for one refused filter in a SUBACK: the v5 reason, or 0x80 Failure for v3.1.1
 * [MQTT-3.9.3-2 3.1.1 form]. (MQTT 3.1 has no failure code: such a client is closed instead.)
 */
export function subscriptionFailure(conn: Connection, reasonCode: number): number {
  return conn.version === 5 ? reasonCode : 0x80;
}

/**
 * Reason string for an acknowledgement (PUBACK, PUBREC, SUBACK, UNSUBACK…), or undefined when the
 * client asked for no problem information (Request Problem Information = 0) [MQTT-3.1.2-29], or
 * when it would make the packet larger than the client accepts [MQTT-3.4.2-2 and alike].
 */
export function ackProperties(conn: Connection, reasonString: string, baseLength: number): Properties | undefined {
  if (conn.version !== 5 || !conn.problemInformation) return undefined;
  // Property: id (1) + length (2) + bytes; the property length may grow by up to 3 bytes.
  if (baseLength + 6 + Buffer.byteLength(reasonString) > conn.maxPacketSize) return undefined;
  return { reasonString };
}
