// Inbound v5 topic aliases (spec 3.3.2.3.4): a client may replace a topic name with a number it
// bound earlier on the same connection. The table is per connection [MQTT-3.3.2-7], an array
// indexed by alias, created on first use, at most --max-topic-alias entries.
import { ProtocolError, type PublishPacket } from '../../protocol/index.js';
import type { Connection } from '../connection.js';

/**
 * Sets packet.topic from the alias (empty topic) or binds the alias to the topic (non-empty).
 * `maximum` is the Topic Alias Maximum stated in CONNACK. The codec has already refused alias 0.
 */
export function resolveTopicAlias(conn: Connection, packet: PublishPacket, alias: number, maximum: number): void {
  // An alias above the maximum we announced (any alias when it is 0) is invalid [MQTT-3.3.2-9].
  if (alias > maximum) throw new ProtocolError(`topic alias ${alias} above the Topic Alias Maximum ${maximum}`, 'MQTT-3.3.2-9', 0x94);
  if (packet.topic.length > 0) {
    (conn.topicAliases ??= [])[alias] = packet.topic; // set or replace the mapping
    return;
  }
  const topic = conn.topicAliases?.[alias];
  // An empty topic name with an alias that has no mapping on this connection (5.0 §3.3.2.3.4).
  if (topic === undefined) throw new ProtocolError(`topic alias ${alias} is not mapped on this connection`, 'MQTT-3.3.2.3.4', 0x82);
  packet.topic = topic;
}
