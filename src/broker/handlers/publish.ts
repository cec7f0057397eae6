// PUBLISH from a client: limits, then route. QoS 0 is fire and forget (no await); QoS 1/2 are
// acknowledged once the message is handed to the other nodes. QoS 2 is exactly once: a PUBLISH
// resent with an id still awaiting PUBREL is acknowledged again but not routed again [v3:MQTT-4.3.3-2] [v5:MQTT-4.3.3-10].
import { encode, isSharedSubscription, ProtocolError, ReasonCode, type AckPacket, type Properties, type PublishPacket } from '../../protocol/index.js';
import type { Message, Reach } from '../../store/types.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';
import type { Session } from '../session.js';
import { ackProperties } from '../answers.js';
import { Pending } from '../hooks/hooks.js';
import type { HeldPublish } from '../connection.js';
import type { Refusal } from '../hooks/types.js';
import { topicLimitProblem } from './limits.js';
import { isSysTopic } from '../sys-topics.js';
import { resolveTopicAlias } from './topic-alias.js';

export function handlePublish(broker: Broker, conn: Connection, packet: PublishPacket): void {
  const session = conn.session;
  if (session === null) return;
  const counters = broker.counters;
  counters.messagesReceived++;
  counters.receivedByQos[packet.qos]++;
  const props = packet.properties;
  if (props !== undefined) {
    // Subscription Identifiers go from server to client only [MQTT-3.3.4-6].
    if (props.subscriptionIdentifiers !== undefined) throw new ProtocolError('subscription identifier in a PUBLISH from a client', 'MQTT-3.3.4-6', 0x82);
    if (props.topicAlias !== undefined) resolveTopicAlias(conn, packet, props.topicAlias, broker.config.maxTopicAlias);
  }
  const problem = topicLimitProblem(broker.config, packet.topic);
  if (problem !== undefined) {
    broker.log.warn({ clientId: session.clientId, problem }, 'PUBLISH over a topic limit: closing connection');
    throw new ProtocolError(problem, 'MQTT-4.7.3-3', ReasonCode.TopicNameInvalid);
  }
  // $share/ begins a shared subscription filter, never a topic a message is published to (4.8.2).
  if (isSharedSubscription(packet.topic)) throw new ProtocolError(`PUBLISH to '${packet.topic}', a shared subscription filter`, 'v5:MQTT-4.8.2-1', ReasonCode.TopicNameInvalid);
  // Capabilities this server was told not to offer (CONNACK said so to a v5 client).
  const config = broker.config;
  if (packet.qos > config.maxQos) throw new ProtocolError(`PUBLISH with QoS ${packet.qos} above --max-qos ${config.maxQos}`, 'v5:MQTT-3.2.2-11', ReasonCode.QoSNotSupported);
  if (packet.retain && !config.retainAvailable) throw new ProtocolError('retained PUBLISH with --retain-available false', 'v5:MQTT-3.2.2-14', ReasonCode.RetainNotSupported);
  // $SYS/… is the broker's own, read-only for clients as in Mosquitto, with or without an ACL:
  // dropped and answered as a denial is, so it is never routed nor retained.
  if (isSysTopic(packet.topic)) {
    refuse(broker, conn, packet, ACL_REFUSAL, SYS_READ_ONLY);
    return;
  }
  const acl = session.acl;
  if (acl !== null && !acl.canPublish(packet.topic)) {
    refuse(broker, conn, packet, ACL_REFUSAL, 'PUBLISH denied by the ACL');
    return;
  }
  const message = toMessage(packet);
  // Plugins that authorize: a closure per message only then (the hot path without them allocates none).
  const hooks = broker.hooks;
  const gated = hooks !== null && hooks.has.authorizePublish;
  if (packet.qos === 0) {
    if (!gated) routeQos0(broker, conn, message);
    else whenAuthorized(broker, conn, message, () => routeQos0(broker, conn, message), (refusal) => refuse(broker, conn, packet, refusal));
    return;
  }
  const messageId = packet.messageId as number;
  // v5: whether anyone subscribes, for the acknowledgement's reason code (asked only of v5 clients).
  const reach: Reach | undefined = conn.version === 5 ? { matched: false } : undefined;
  if (packet.qos === 1) {
    checkReceiveMaximum(conn);
    conn.unackedQos1++;
    if (!gated) routeQos1(broker, conn, message, messageId, reach);
    else {
      whenAuthorized(broker, conn, message, () => routeQos1(broker, conn, message, messageId, reach), (refusal) => {
        conn.unackedQos1--;
        refuse(broker, conn, packet, refusal);
      });
    }
    return;
  }
  if (session.hasIncomingQos2(messageId)) {
    // Resent before PUBREL: not routed again, so not known to have no subscriber: 0x00.
    conn.write(encode({ cmd: 'pubrec', messageId }, conn.version));
    return;
  }
  checkReceiveMaximum(conn);
  // Before the plugins decide: a resend while they do is recognised (not routed twice).
  session.addIncomingQos2(messageId);
  if (!gated) routeQos2(broker, conn, session, message, messageId, reach);
  else {
    whenAuthorized(broker, conn, message, () => routeQos2(broker, conn, session, message, messageId, reach), (refusal) => {
      session.releaseIncomingQos2(messageId);
      refuse(broker, conn, packet, refusal);
    });
  }
}

function routeQos0(broker: Broker, conn: Connection, message: Message): void {
  published(broker, conn, message);
  broker.publish(message, conn.clientId, conn).catch((err: unknown) => broker.log.error({ err }, 'could not route a QoS 0 message'));
}

function routeQos1(broker: Broker, conn: Connection, message: Message, messageId: number, reach: Reach | undefined): void {
  published(broker, conn, message);
  broker.publish(message, conn.clientId, conn, reach).then(
    () => {
      conn.unackedQos1--;
      conn.send(ack('puback', messageId, reach)); // [v3:MQTT-4.3.2-2] [v5:MQTT-4.3.2-4]
    },
    (err: unknown) => handOffFailed(broker, conn, err),
  );
}

function routeQos2(broker: Broker, conn: Connection, session: Session, message: Message, messageId: number, reach: Reach | undefined): void {
  published(broker, conn, message);
  // PUBREC once the id is stored (a persistent session: a resume must recognise the resend).
  const routed = broker.publish(message, conn.clientId, conn, reach);
  (session.persistent ? Promise.all([routed, broker.backend.sessions.flush()]) : routed).then(
    () => conn.send(ack('pubrec', messageId, reach)), // [v3:MQTT-4.3.3-2] [v5:MQTT-4.3.3-8]
    (err: unknown) => {
      session.releaseIncomingQos2(messageId);
      handOffFailed(broker, conn, err);
    },
  );
}

/** The plugins' published event: a message accepted from a client, before it is routed. */
function published(broker: Broker, conn: Connection, message: Message): void {
  const hooks = broker.hooks;
  if (hooks !== null && hooks.has.published && conn.client !== null) hooks.emit('published', conn.client, message);
}

/**
 * Runs `allowed` or `denied` once the plugins' authorizePublish has decided: at once when it answers
 * synchronously (or there is none), else when it answers. A connection's PUBLISHes are routed and
 * acknowledged in the order they arrived [MQTT-4.6.0-2/3/4]: while one waits for its answer, later
 * ones wait behind it.
 */
function whenAuthorized(broker: Broker, conn: Connection, message: Message, allowed: () => void, denied: (refusal: Refusal) => void): void {
  const hooks = broker.hooks;
  if (hooks === null || !hooks.has.authorizePublish || conn.client === null) {
    allowed();
    return;
  }
  const verdict = hooks.authorizePublish(conn.client, message);
  const queue = conn.publishQueue;
  if (!(verdict instanceof Pending)) {
    if (queue === null) {
      if (verdict === null) allowed();
      else denied(verdict);
    } else queue.push({ verdict, allowed, denied });
    return;
  }
  const held: HeldPublish = { verdict: undefined, allowed, denied };
  if (queue === null) conn.publishQueue = [held];
  else queue.push(held);
  verdict.onSettled((v) => {
    held.verdict = v;
    runDecided(conn);
  });
}

/** The connection's PUBLISHes whose answers came, in arrival order, up to the first still undecided. */
function runDecided(conn: Connection): void {
  const queue = conn.publishQueue;
  if (queue === null) return;
  let i = 0;
  for (; i < queue.length; i++) {
    const held = queue[i]!;
    if (held.verdict === undefined) break;
    try {
      if (held.verdict === null) held.allowed();
      else held.denied(held.verdict);
    } catch (err) {
      conn.fail(err);
    }
  }
  if (i === queue.length) conn.publishQueue = null;
  else queue.splice(0, i);
}

const ACL_REFUSAL: Refusal = Object.freeze({ reasonCode: ReasonCode.NotAuthorized });
/** The drop reason of a client's PUBLISH to $SYS. */
export const SYS_READ_ONLY = 'PUBLISH to $SYS (read-only for clients)';

/**
 * A PUBLISH the client's ACL or a plugin does not allow: not routed, not retained, counted as
 * dropped. QoS 1/2 are still acknowledged, so the client does not resend it for ever: v5 with the
 * refusal's code (0x87 Not authorized unless a plugin said otherwise; the flow ends there, no PUBREL
 * follows), v3.1/3.1.1 normally (they have no code; Mosquitto does the same).
 */
function refuse(broker: Broker, conn: Connection, packet: PublishPacket, refusal: Refusal, why = 'PUBLISH denied by a plugin'): void {
  broker.drops.dropped(conn.clientId, why, { topic: packet.topic });
  if (packet.qos === 0) return;
  const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
  const messageId = packet.messageId as number;
  if (conn.version !== 5) {
    conn.send({ cmd, messageId });
    return;
  }
  // Only a code an acknowledgement may carry (5.0 §3.4.2.1): otherwise the plain Not authorized.
  const reasonCode = ACK_FAILURE_CODES.has(refusal.reasonCode) ? refusal.reasonCode : ReasonCode.NotAuthorized;
  const properties = refusal.reason === undefined ? undefined : ackProperties(conn, refusal.reason, 8);
  conn.send({ cmd, messageId, reasonCode, properties });
}

/** The failure codes of PUBACK and PUBREC (5.0 §3.4.2.1, §3.5.2.1). */
const ACK_FAILURE_CODES: ReadonlySet<number> = new Set([0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);

/**
 * PUBACK/PUBREC for a routed message: to a v5 client, 0x10 No matching subscribers when no
 * subscriber anywhere matched it, retained or not (as Mosquitto answers; the server MAY, v5 §3.4.2.1
 * and §3.5.2.1); otherwise Success. MQTT 3.1/3.1.1 acknowledgements carry no code.
 */
function ack(cmd: 'puback' | 'pubrec', messageId: number, reach: Reach | undefined): AckPacket {
  if (reach === undefined || reach.matched) return { cmd, messageId };
  return { cmd, messageId, reasonCode: ReasonCode.NoMatchingSubscribers };
}

/**
 * A QoS 1/2 PUBLISH beyond the Receive Maximum this server announced, counting QoS 1 not yet
 * acknowledged and QoS 2 not yet released: the client broke [MQTT-3.3.4-7].
 */
function checkReceiveMaximum(conn: Connection): void {
  const session = conn.session as NonNullable<Connection['session']>;
  if (conn.unackedQos1 + session.incomingQos2Count >= conn.receiveMaximum) {
    throw new ProtocolError(`more than Receive Maximum ${conn.receiveMaximum} unacknowledged QoS 1/2 PUBLISHes`, 'MQTT-3.3.4-7', ReasonCode.ReceiveMaximumExceeded);
  }
}

/**
 * The message could not be handed to the other nodes, so it must not be acknowledged. Closing
 * makes the client resend it (DUP) after reconnecting; a v5 error PUBACK would make it give up.
 */
function handOffFailed(broker: Broker, conn: Connection, err: unknown): void {
  if (conn.closed) return;
  broker.log.warn({ clientId: conn.clientId, err: (err as Error)?.message }, 'could not hand a QoS 1/2 message to other nodes: closing the connection unacknowledged');
  conn.close('publish hand-off failed', { will: true, disconnectCode: ReasonCode.UnspecifiedError });
}

function toMessage(packet: PublishPacket): Message {
  const message: Message = { topic: packet.topic, payload: packet.payload, qos: packet.qos, retain: packet.retain };
  const props = packet.properties;
  if (props !== undefined) {
    // Forwarded as received, except what is per hop: the alias (subscribers get the full topic)
    // and the expiry (recomputed on send). Subscription ids were refused above.
    const { topicAlias: _alias, messageExpiryInterval, ...forwarded } = props;
    if (hasAny(forwarded)) message.properties = forwarded;
    if (messageExpiryInterval !== undefined) message.expiresAt = Date.now() + messageExpiryInterval * 1000;
  }
  return message;
}

function hasAny(props: Properties): boolean {
  for (const key in props) if ((props as Record<string, unknown>)[key] !== undefined) return true;
  return false;
}
