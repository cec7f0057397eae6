// CONNECT: version and client id rules, credentials, then the session (claim, resume, CONNACK).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { anonymousAllowed, type BrokerConfig } from '../../config.js';
import { encode, ProtocolError, type ConnectPacket, type Properties, type Will } from '../../protocol/index.js';
import type { Message } from '../../store/types.js';
import type { Broker, SessionRequest } from '../broker.js';
import { ServiceUnavailableError, type Connection } from '../connection.js';
import { topicLimitProblem } from './limits.js';
import { OutgoingAliases } from '../outgoing-aliases.js';

/** v3/v4 persistent sessions never expire. */
const NEVER_EXPIRES = 0xffff_ffff;

export async function handleConnect(broker: Broker, conn: Connection, packet: ConnectPacket): Promise<void> {
  conn.state = 'connecting';
  const version = packet.protocolVersion;
  conn.version = version;
  const v5 = version === 5;
  const refuse = (v4Code: number, v5Code: number, reason: string): void => {
    const connack = encode({ cmd: 'connack', sessionPresent: false, reasonCode: v5 ? v5Code : v4Code }, version);
    conn.close(reason, { will: false, connack });
  };

  // We support no enhanced authentication method: refuse it and close [MQTT-4.12.0-1].
  if (packet.properties?.authenticationMethod !== undefined) return refuse(0x05, 0x8c, 'unsupported authentication method [MQTT-4.12.0-1]');

  let clientId = packet.clientId;
  let assigned: string | undefined;
  if (version === 3 && (clientId.length === 0 || clientId.length > 23)) {
    // MQTT 3.1: the client id is 1 to 23 characters.
    return refuse(0x02, 0x85, 'v3.1 client id must have 1..23 characters');
  }
  if (clientId.length === 0) {
    // An empty id needs a clean session [v3:MQTT-3.1.3-8]; the server then assigns one [MQTT-3.1.3-6].
    if (!v5 && !packet.clean) return refuse(0x02, 0x85, 'empty client id without clean session [v3:MQTT-3.1.3-8]');
    clientId = assigned = `starling-${randomBytes(8).toString('hex')}`;
  }

  const auth = authenticate(broker.config, packet.username, packet.password);
  if (auth === 'bad-credentials') return refuse(0x04, 0x86, 'bad username or password');
  if (auth === 'anonymous') return refuse(0x05, 0x87, 'anonymous clients are not allowed');

  if (packet.will !== undefined) {
    const problem = topicLimitProblem(broker.config, packet.will.topic);
    if (problem !== undefined) throw new ProtocolError(`will ${problem}`, 'v5:MQTT-3.1.4-2', 0x90);
  }

  const props = packet.properties;
  conn.keepaliveMs = packet.keepalive * 1000;
  if (props?.maximumPacketSize !== undefined) conn.maxPacketSize = props.maximumPacketSize;
  // Never an alias above the client's maximum, none when it has none [MQTT-3.3.2-11].
  if (v5 && props?.topicAliasMaximum !== undefined && props.topicAliasMaximum > 0) conn.outgoingAliases = new OutgoingAliases(props.topicAliasMaximum);
  const receiveMaximum = props?.receiveMaximum ?? 65_535;
  const expiryInterval = v5 ? (props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES;

  await openSession(broker, conn, {
    clientId,
    clean: packet.clean,
    expiryInterval,
    will: packet.will !== undefined ? willMessage(packet.will) : null,
    willDelay: v5 ? (packet.will?.properties?.willDelayInterval ?? 0) : 0,
    window: Math.min(broker.config.maxInflight, receiveMaximum),
    connack: (sessionPresent) =>
      // MQTT 3.1 has no session present flag: that byte is reserved (0).
      encode({ cmd: 'connack', sessionPresent: version !== 3 && sessionPresent, reasonCode: 0, properties: v5 ? connackProperties(broker.config, assigned) : undefined }, version),
  });
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

type AuthResult = 'ok' | 'bad-credentials' | 'anonymous';

function authenticate(config: BrokerConfig, username: string | undefined, password: Buffer | undefined): AuthResult {
  if (username === undefined) return anonymousAllowed(config) ? 'ok' : 'anonymous';
  if (config.username === undefined) return 'ok'; // no users configured: a username is just a label
  const userOk = sameSecret(Buffer.from(username), Buffer.from(config.username));
  const passwordOk = password !== undefined && sameSecret(password, Buffer.from(config.password ?? ''));
  return userOk && passwordOk ? 'ok' : 'bad-credentials';
}

/** What this server supports, stated in CONNACK (v5 3.2.2.3). */
function connackProperties(config: BrokerConfig, assignedClientId: string | undefined): Properties {
  const props: Properties = {
    maximumPacketSize: config.maxPacketSize,
    retainAvailable: 1,
    wildcardSubscriptionAvailable: 1,
    subscriptionIdentifiersAvailable: 1,
    sharedSubscriptionAvailable: 1,
  };
  // Inbound aliases a client may use [MQTT-3.2.2-17]; absent means 0 (--max-topic-alias 0): none.
  if (config.maxTopicAlias > 0) props.topicAliasMaximum = config.maxTopicAlias;
  if (assignedClientId !== undefined) props.assignedClientIdentifier = assignedClientId;
  return props;
}

function willMessage(will: Will): Message {
  const message: Message = { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain };
  const props = will.properties;
  if (props !== undefined) {
    // The Message Expiry Interval stays a property: it starts when the will is published (willPublication).
    const { willDelayInterval: _delay, ...forwarded } = props;
    if (Object.keys(forwarded).length > 0) message.properties = forwarded;
  }
  return message;
}

/** Constant-time comparison (of digests, so lengths do not leak either). */
function sameSecret(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
