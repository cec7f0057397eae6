// Frames for messages leaving the broker. A FanOut encodes one message once per protocol family
// (v3/v4 PUBLISH bytes are identical; v5 adds properties) and shares the frames among all
// subscribers; only v5 subscribers with subscription identifiers need their own encoding.
import { PreparedPublish, type Properties, type ProtocolVersion } from '../protocol/index.js';
import type { Message } from '../store/types.js';

/** Properties a v5 subscriber receives: the forwarded ones, the remaining expiry, its subscription ids. */
export function outgoingProperties(message: Message, subIds: number[] | undefined, now: number): Properties | undefined {
  const base = message.properties;
  if (message.expiresAt === undefined && subIds === undefined) return base;
  const props: Properties = { ...base };
  if (message.expiresAt !== undefined) props.messageExpiryInterval = Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
  if (subIds !== undefined) props.subscriptionIdentifiers = subIds;
  return props;
}

/** Per-client result of matching one message: overlapping subscriptions merged [MQTT-3.3.5-1]. */
export interface Target {
  qos: number;
  rap: boolean;
  subIds: number[] | undefined;
}

export function isExpired(message: Message, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/** Where a read decision about one message is kept for the next subscriber with the same rules. */
export interface ReadDecision {
  aclKey: object | null;
  aclAllowed: boolean;
}

export class FanOut implements ReadDecision {
  private v4: PreparedPublish | undefined;
  private v5: PreparedPublish | undefined;
  /** The last ACL read decision for this message, and whose rules made it (ClientAcl.canReadOnce). */
  aclKey: object | null = null;
  aclAllowed = false;

  /**
   * @param awaited the publisher's acknowledgement waits for what delivering this message stores
   *   (a PUBLISH on this node), so a failed store write is reported to it rather than retried.
   */
  constructor(
    readonly message: Message,
    private readonly now: number,
    readonly awaited = false,
  ) {}

  prepared(version: ProtocolVersion, subIds?: number[]): PreparedPublish {
    const m = this.message;
    if (version !== 5) return (this.v4 ??= new PreparedPublish(m.topic, m.payload, 4));
    if (subIds !== undefined) return new PreparedPublish(m.topic, m.payload, 5, outgoingProperties(m, subIds, this.now));
    return (this.v5 ??= new PreparedPublish(m.topic, m.payload, 5, outgoingProperties(m, undefined, this.now)));
  }

  /** The v5 properties a subscriber with these subscription ids receives (for per-client encodings). */
  properties(subIds?: number[]): Properties | undefined {
    return outgoingProperties(this.message, subIds, this.now);
  }
}

/**
 * A message kept for long (retained, offline queue) gets its own payload when it is a small view
 * of a larger read buffer, so a 10-byte message does not pin a 64 KiB socket chunk.
 */
export function ownPayload(message: Message): Message {
  const p = message.payload;
  if (p.byteLength * 2 >= p.buffer.byteLength) return message;
  return { ...message, payload: Buffer.from(p) };
}

/** The copy of message queued for one client: its delivery QoS and RETAIN, and its subscription ids. */
export function queuedCopy(message: Message, qos: 0 | 1 | 2, retain: boolean, subIds: number[] | undefined): Message {
  const queued: Message = { topic: message.topic, payload: message.payload, qos, retain, properties: message.properties, expiresAt: message.expiresAt, origin: message.origin };
  if (subIds !== undefined) queued.properties = { ...message.properties, subscriptionIdentifiers: subIds };
  return queued;
}
