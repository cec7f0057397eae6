// UNSUBSCRIBE: always answered with UNSUBACK, whether or not the filters existed [MQTT-3.10.4-4/5].
import { isValidTopicFilter, ReasonCode, validateTopicFilter, type UnsubscribePacket } from '../../protocol/index.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(broker: Broker, conn: Connection, packet: UnsubscribePacket): void {
  const session = conn.session;
  if (session === null) return;
  const filters = packet.unsubscriptions;
  if (conn.version !== 5) {
    for (const filter of filters) validateTopicFilter(filter); // v3.1/v3.1.1: an invalid filter closes the connection
    logUnsubscribed(broker, session.clientId, filters, broker.unsubscribe(session, filters));
    conn.send({ cmd: 'unsuback', messageId: packet.messageId });
    return;
  }
  // v5: an invalid filter gets 0x8F (Topic Filter invalid), the others are unsubscribed [MQTT-3.11.3-1].
  // An invalid filter was never granted, so unsubscribing it changes nothing.
  const existed = broker.unsubscribe(session, filters);
  logUnsubscribed(broker, session.clientId, filters, existed);
  const reasonCodes = filters.map((filter, i) => (!isValidTopicFilter(filter) ? ReasonCode.TopicFilterInvalid : existed[i] ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted));
  conn.send({ cmd: 'unsuback', messageId: packet.messageId, reasonCodes });
}

function logUnsubscribed(broker: Broker, clientId: string, filters: readonly string[], existed: readonly boolean[]): void {
  if (broker.log.isLevelEnabled('debug')) broker.log.debug({ clientId, unsubscriptions: filters.map((filter, i) => ({ filter, existed: existed[i] })) }, 'unsubscribed');
}
