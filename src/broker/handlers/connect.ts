// CONNECT: version and client id rules, credentials, then the session (claim, resume, CONNACK).
import { randomBytes } from 'node:crypto';
import type { BrokerConfig } from '../../config.js';
import { CONNACK_CODES, MqttError, ProtocolError, ReasonCode, type ConnectPacket, type Properties, type Will } from '../../protocol/index.js';
import type { Message } from '../../store/types.js';
import type { Broker, SessionRequest } from '../broker.js';
import { connackFrame } from '../answers.js';
import { ServiceUnavailableError, type Connection } from '../connection.js';
import { topicLimitProblem } from './limits.js';
import { OutgoingAliases } from '../outgoing-aliases.js';
import { authenticateConnect, enhancedAuthFor } from './auth.js';
import { authenticate } from '../auth/credentials.js';
import type { ClientInfo } from '../hooks/types.js';
import type { PeerCertificate } from 'node:tls';
import { LoginFailedError } from '../auth/failed-logins.js';
import { certificateUsername } from '../auth/certificate-identity.js';

/** v3/v4 persistent sessions never expire. */
const NEVER_EXPIRES = 0xffff_ffff;

export async function handleConnect(broker: Broker, conn: Connection, packet: ConnectPacket): Promise<void> {
  conn.state = 'connecting';
  const version = packet.protocolVersion;
  conn.version = version;
  const v5 = version === 5;
  const config = broker.config;
  const props = packet.properties;
  // Known before anything is answered: every packet to the client respects them, CONNACK included.
  if (props?.maximumPacketSize !== undefined) conn.maxPacketSize = props.maximumPacketSize;
  if (props?.requestProblemInformation === 0) conn.problemInformation = false;

  // Enhanced authentication: a method not offered is refused with 0x8C and the connection closed [MQTT-4.12.0-1].
  const enhanced = enhancedAuthFor(broker, conn, props);

  let clientId = packet.clientId;
  let assigned: string | undefined;
  if (version === 3 && (clientId.length === 0 || clientId.length > 23)) {
    // MQTT 3.1: the client id is 1 to 23 characters.
    throw new MqttError('v3.1 client id must have 1..23 characters', ReasonCode.ClientIdentifierNotValid);
  }
  if (clientId.length === 0) {
    // An empty id needs a clean session [v3:MQTT-3.1.3-8]; the server then assigns one [MQTT-3.1.3-6].
    if (!v5 && !packet.clean) throw new MqttError('empty client id without clean session [v3:MQTT-3.1.3-8]', ReasonCode.ClientIdentifierNotValid);
    clientId = assigned = `starling-${randomBytes(8).toString('hex')}`;
  }
  conn.clientId = clientId; // known from here on: a refusal's log line names it

  // A listener with useIdentityAsUsername: the verified certificate's CN is the user, no password asked.
  const identity = certificateUsername(conn.socket);
  if (identity === null) throw new MqttError('no valid client certificate naming a user (use_identity_as_username)', ReasonCode.NotAuthorized);
  // With enhanced authentication the method decides who the client is (before CONNACK, below).
  // A password hash is verified off the event loop: awaited only when there is one to verify.
  let auth = enhanced !== undefined || identity !== undefined ? 'ok' : authenticate(config, broker.credentials, packet.username, packet.password);
  if (typeof auth !== 'string') auth = await auth;
  if (auth === 'bad-credentials') throw new LoginFailedError('bad username or password', ReasonCode.BadUserNameOrPassword, { clientId, username: packet.username });
  if (auth === 'anonymous') throw new MqttError('anonymous clients are not allowed', ReasonCode.NotAuthorized);

  const will = packet.will;
  if (will !== undefined) {
    const problem = topicLimitProblem(config, will.topic);
    if (problem !== undefined) throw new ProtocolError(`will ${problem}`, 'v5:MQTT-3.1.4-2', ReasonCode.TopicNameInvalid);
    // A will the server could not publish as asked is refused [v5:MQTT-3.2.2-12, v5:MQTT-3.2.2-13].
    if (will.qos > config.maxQos) throw new MqttError(`will QoS ${will.qos} above --max-qos ${config.maxQos}`, ReasonCode.QoSNotSupported);
    if (will.retain && !config.retainAvailable) throw new MqttError('retained will with --retain-available false', ReasonCode.RetainNotSupported);
  }

  const keepalive = keepAliveFor(config, packet.keepalive, v5);
  conn.keepaliveMs = keepalive * 1000;
  // Never an alias above the client's maximum, none when it has none [MQTT-3.3.2-11].
  if (v5 && props?.topicAliasMaximum !== undefined && props.topicAliasMaximum > 0) conn.outgoingAliases = new OutgoingAliases(props.topicAliasMaximum);
  if (v5) conn.receiveMaximum = config.receiveMaximum;
  const clientReceiveMaximum = props?.receiveMaximum ?? 65_535;
  const requested = v5 ? (props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES;
  const expiryInterval = Math.min(requested, config.maxSessionExpiry);

  const connackProps = v5 ? connackProperties(config, assigned) : undefined;
  if (connackProps !== undefined) {
    // The client uses the server's values when they differ from what it asked for [MQTT-3.2.2-21].
    if (keepalive !== packet.keepalive) connackProps.serverKeepAlive = keepalive;
    if (expiryInterval !== requested) connackProps.sessionExpiryInterval = expiryInterval;
    if (props?.requestResponseInformation === 1 && config.responseInformation !== undefined) {
      connackProps.responseInformation = config.responseInformation.replace(/%c/g, clientId);
    }
  }

  if (enhanced !== undefined && connackProps !== undefined) {
    Object.assign(connackProps, await authenticateConnect(conn, enhanced, clientId, packet.username, props?.authenticationData));
  }
  // Who the ACL and the plugins see: the certificate's user, the user an enhanced-auth method proved, else the CONNECT's username.
  const client = (conn.client = clientInfo(conn, clientId, identity ?? conn.auth?.username ?? packet.username));
  let willMessage = will !== undefined ? toWillMessage(will) : null;
  if (broker.hooks !== null) willMessage = await askPlugins(broker, conn, client, packet.password, willMessage);
  await openSession(broker, conn, {
    client,
    clientId,
    username: client.username,
    clean: packet.clean,
    expiryInterval,
    will: willMessage,
    willDelay: v5 ? (will?.properties?.willDelayInterval ?? 0) : 0,
    window: Math.min(config.maxInflight, clientReceiveMaximum),
    connack: (sessionPresent) => connackFrame(conn, sessionPresent, ReasonCode.Success, connackProps),
  });
}

/**
 * The keep-alive the client is held to: its own, unless --max-keepalive caps it (0 = no limit
 * asked, which a cap also overrides). A v5 client is told the server's value in CONNACK; a v3.1.1
 * client cannot be told, so it is refused, as Mosquitto does, with "identifier rejected" (the
 * only fitting return code 3.1.1 has).
 */
function keepAliveFor(config: BrokerConfig, asked: number, v5: boolean): number {
  const cap = config.maxKeepalive;
  if (cap === 0 || (asked !== 0 && asked <= cap)) return asked;
  if (v5) return cap;
  throw new MqttError(`keep-alive ${asked} s is over --max-keepalive ${cap}`, ReasonCode.ClientIdentifierNotValid);
}

/** broker.openSession, with a store outage (Redis down) turned into ServiceUnavailableError (Connection.fail answers it). */
async function openSession(broker: Broker, conn: Connection, request: SessionRequest): Promise<void> {
  try {
    await broker.openSession(conn, request);
  } catch (err) {
    if (broker.backend.unavailable?.(err) === true) throw new ServiceUnavailableError('server unavailable: the shared store cannot be reached', { cause: err });
    throw err;
  }
}

function clientInfo(conn: Connection, clientId: string, username: string | undefined): ClientInfo {
  const socket = conn.socket as Connection['socket'] & { getPeerCertificate?: () => PeerCertificate };
  // A TLS socket's peer certificate (an empty object when the client sent none).
  const certificate = socket.getPeerCertificate?.();
  const client: ClientInfo = { clientId, username, address: socket.remoteAddress, protocolVersion: conn.version };
  return certificate !== undefined && Object.keys(certificate).length > 0 ? { ...client, certificate } : client;
}

/**
 * The plugins' authenticate hook (after the built-in check: both must accept), then authorizePublish
 * for the will: a will the client may not publish is dropped (logged), as the ACL drops it.
 */
async function askPlugins(broker: Broker, conn: Connection, client: ClientInfo, password: Buffer | undefined, will: Message | null): Promise<Message | null> {
  const hooks = broker.hooks!;
  if (hooks.has.authenticate) {
    const refusal = await hooks.authenticate(client, password);
    if (refusal !== null) {
      // A code a CONNACK cannot carry is not what the plugin meant: Not authorized.
      const code = CONNACK_CODES.has(refusal.reasonCode) ? refusal.reasonCode : ReasonCode.NotAuthorized;
      const message = refusal.reason ?? 'not authorized';
      // Refused credentials count as a failed login (slowed down, logged); a ban or a quota does not.
      if (code === ReasonCode.BadUserNameOrPassword || code === ReasonCode.NotAuthorized) throw new LoginFailedError(message, code, { clientId: client.clientId, username: client.username });
      throw new MqttError(message, code);
    }
  }
  if (will === null || !hooks.has.authorizePublish) return will;
  const refusal = await hooks.authorizePublish(client, will);
  if (refusal === null) return will;
  broker.log.warn({ clientId: client.clientId, topic: will.topic, reasonCode: refusal.reasonCode }, 'will dropped: a plugin (authorizePublish) denies it');
  return null;
}

/** What this server supports, stated in CONNACK (v5 3.2.2.3). */
function connackProperties(config: BrokerConfig, assignedClientId: string | undefined): Properties {
  const props: Properties = {
    maximumPacketSize: config.maxPacketSize,
    retainAvailable: config.retainAvailable ? 1 : 0,
    wildcardSubscriptionAvailable: config.wildcardSubscriptions ? 1 : 0,
    subscriptionIdentifiersAvailable: config.subscriptionIdentifiers ? 1 : 0,
    sharedSubscriptionAvailable: config.sharedSubscriptions ? 1 : 0,
  };
  // Absent means 65535 and QoS 2: stated only when lower.
  if (config.receiveMaximum < 65_535) props.receiveMaximum = config.receiveMaximum;
  if (config.maxQos < 2) props.maximumQoS = config.maxQos;
  // Inbound aliases a client may use [MQTT-3.2.2-17]; absent means 0 (--max-topic-alias 0): none.
  if (config.maxTopicAlias > 0) props.topicAliasMaximum = config.maxTopicAlias;
  if (assignedClientId !== undefined) props.assignedClientIdentifier = assignedClientId;
  return props;
}

function toWillMessage(will: Will): Message {
  const message: Message = { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain };
  const props = will.properties;
  if (props !== undefined) {
    // The Message Expiry Interval stays a property: it starts when the will is published (willPublication).
    const { willDelayInterval: _delay, ...forwarded } = props;
    if (Object.keys(forwarded).length > 0) message.properties = forwarded;
  }
  return message;
}
