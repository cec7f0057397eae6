// Topic aliases from the broker to one v5 client (MQTT 5.0 section 3.3.2.3.4), used only when
// the client's CONNECT allows them (Topic Alias Maximum > 0) [MQTT-3.3.2-11].
//
// The first PUBLISH of a topic carries the topic and a new alias; later ones carry an empty topic
// and the alias. When all aliases are taken, the next new topic takes the slot after the last one
// assigned (round robin), sending its full topic again with that alias, which remaps it. Mappings
// live and die with the network connection [MQTT-3.3.2-7], like this object.
//
// Frames for such a client are encoded for it alone (the shared fan-out frames cannot carry its
// aliases), which is why only clients that ask for aliases pay for them.
import { PreparedPublish, type QoS } from '../protocol/index.js';
import type { FanOut } from './outgoing.js';

export class OutgoingAliases {
  private readonly byTopic = new Map<string, number>();
  private readonly topics: Array<string | undefined> = [];
  private next = 1;

  constructor(private readonly max: number) {}

  /** The PUBLISH frame of fan's message for this client, aliased. */
  frame(fan: FanOut, subIds: number[] | undefined, qos: QoS, retain: boolean, dup: boolean, messageId: number | undefined, maxPacketSize: number): Buffer {
    const { topic, payload } = fan.message;
    const props = fan.properties(subIds);
    const known = this.byTopic.get(topic);
    if (known !== undefined) return new PreparedPublish('', payload, 5, { ...props, topicAlias: known }).frame(qos, retain, dup, messageId);
    const alias = this.next;
    const frame = new PreparedPublish(topic, payload, 5, { ...props, topicAlias: alias }).frame(qos, retain, dup, messageId);
    // A frame too large for the client is dropped by the caller: the client never learns the mapping.
    if (frame.length <= maxPacketSize) {
      const previous = this.topics[alias];
      if (previous !== undefined) this.byTopic.delete(previous);
      this.topics[alias] = topic;
      this.byTopic.set(topic, alias);
      this.next = alias === this.max ? 1 : alias + 1;
    }
    return frame;
  }
}
