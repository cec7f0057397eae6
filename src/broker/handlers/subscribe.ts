// SUBSCRIBE: granted QoS per filter, routes announced before SUBACK, then retained messages.
import { isSharedSubscription, isValidTopicFilter, parseSharedSubscription, validateTopicFilter, type SubscribePacket } from '../../protocol/index.js';
import type { SubscriptionOptions } from '../../store/types.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';
import { topicLimitProblem } from './limits.js';

export async function handleSubscribe(broker: Broker, conn: Connection, packet: SubscribePacket): Promise<void> {
  const session = conn.session;
  if (session === null) return;
  const v5 = conn.version === 5;
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0];
  const granted: number[] = [];
  const accepted: Array<[string, SubscriptionOptions]> = [];
  const isNew: boolean[] = [];
  for (const sub of packet.subscriptions) {
    if (isSharedSubscription(sub.topic)) {
      // $share/{ShareName}/{filter} [MQTT-4.8.2-1/2]; v3/v4 clients may use it too (as with Mosquitto, EMQX).
      if (parseSharedSubscription(sub.topic) === null) {
        granted.push(v5 ? 0x8f : 0x80);
        continue;
      }
    } else if (!isValidTopicFilter(sub.topic)) {
      // v3.1/v3.1.1: close the connection (throws, before any filter of the packet is applied).
      if (!v5) validateTopicFilter(sub.topic);
      granted.push(0x8f); // v5: Topic Filter invalid, for this filter only [MQTT-3.9.3-1]
      continue;
    }
    const problem = topicLimitProblem(broker.config, sub.topic);
    if (problem !== undefined) {
      broker.log.warn({ clientId: session.clientId, problem }, 'SUBSCRIBE over a topic limit: refused');
      granted.push(v5 ? 0x8f : 0x80);
      continue;
    }
    const options: SubscriptionOptions = { qos: sub.qos };
    if (v5) {
      if (sub.nl === true) options.nl = true;
      if (sub.rap === true) options.rap = true;
      if (sub.rh !== undefined && sub.rh !== 0) options.rh = sub.rh;
      if (subscriptionId !== undefined) options.subscriptionId = subscriptionId;
    }
    isNew.push(!session.subscriptions.has(sub.topic));
    accepted.push([sub.topic, options]);
    granted.push(sub.qos); // we support QoS 2, so the requested QoS is granted [v3:MQTT-3.8.4-5] [v5:MQTT-3.8.4-7]
  }
  if (accepted.length > 0) await broker.subscribe(session, accepted);
  if (conn.state !== 'connected') return;
  conn.send({ cmd: 'suback', messageId: packet.messageId, granted });
  for (let i = 0; i < accepted.length; i++) {
    const [filter, options] = accepted[i];
    // Retain Handling: 0 always, 1 only for a new subscription, 2 never. A repeated v3/v4
    // subscription sends the retained messages again [MQTT-3.8.4-3].
    if (options.rh === 2 || (options.rh === 1 && !isNew[i])) continue;
    // No retained messages for a shared subscription (MQTT 5 4.8.2).
    if (isSharedSubscription(filter)) continue;
    await broker.sendRetained(conn, filter, options);
  }
}
