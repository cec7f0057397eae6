// Wills leaving the broker: published now, or after a v5 Will Delay Interval unless the client
// reconnects first [v5:MQTT-3.1.3-9]. Publications in flight are tracked so shutdown can wait for them.
import type { Logger } from '../log.js';
import type { Message, SessionStore } from '../store/types.js';
import type { Session } from './session.js';
import { setLongTimeout, type LongTimeout } from './long-timer.js';

export class Wills {
  /** Will publications still being handed to the bus/store (awaited on close). */
  private readonly pending = new Set<Promise<void>>();
  /** v5 wills waiting out their Will Delay Interval, by client id. */
  private readonly delayed = new Map<string, { will: Message; timer: LongTimeout }>();

  constructor(
    private readonly publish: (will: Message) => Promise<void>,
    private readonly store: SessionStore,
    private readonly log: Logger,
  ) {}

  publishNow(will: Message): void {
    const done = this.publish(willPublication(will)).catch((err: unknown) => this.log.error({ err, topic: will.topic }, 'could not publish a will'));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /**
   * A session's connection ended: its will goes out now, after its v5 delay, or not at all
   * (publishWill false: a normal DISCONNECT), and the stored copy follows. A connection taken
   * over leaves the stored will to the newer connection.
   */
  connectionEnded(session: Session, publishWill: boolean, takenOver: boolean): void {
    const will = session.will;
    if (will === null) return;
    session.will = null;
    const { clientId, persistent } = session;
    // A will is a publish of the client's: its ACL must allow writing the topic (rights may have
    // shrunk since CONNECT, where a denied will was already dropped).
    if (publishWill && session.acl !== null && !session.acl.canPublish(will.topic)) {
      this.log.warn({ clientId, topic: will.topic }, 'will not published: the ACL denies the client writing its topic');
      publishWill = false;
    }
    if (!publishWill) {
      this.log.debug({ clientId, topic: will.topic }, 'will discarded');
      if (persistent && !takenOver) this.store.setWill(clientId, null);
    } else if (session.willDelay === 0 || !persistent) {
      // No delay, or the session ends now, which ends the delay too [v5:MQTT-3.1.3-9].
      this.log.debug({ clientId, topic: will.topic }, 'will published');
      this.publishNow(will);
      if (persistent && !takenOver) this.store.setWill(clientId, null);
    } else if (!takenOver) {
      // A reconnect within the delay (on any node: onTakeover) cancels the will [v5:MQTT-3.1.3-9].
      const seconds = Math.min(session.willDelay, session.expiryInterval);
      this.log.debug({ clientId, topic: will.topic, delaySeconds: seconds }, 'will delayed');
      this.publishLater(clientId, will, seconds);
    } else {
      this.log.debug({ clientId, topic: will.topic }, 'will left to the connection that took the session over');
    }
  }

  /** Publishes after `seconds` (any length MQTT allows, up to 2^32-1: long-timer.ts). */
  publishLater(clientId: string, will: Message, seconds: number): void {
    const timer = setLongTimeout(() => {
      this.delayed.delete(clientId);
      this.log.debug({ clientId, topic: will.topic }, 'delayed will published');
      this.publishNow(will);
      this.store.setWill(clientId, null);
    }, seconds * 1000);
    this.delayed.set(clientId, { will, timer });
  }

  /** The client came back (on any node) within the delay: its will is not sent. */
  cancel(clientId: string): void {
    const delayed = this.delayed.get(clientId);
    if (delayed === undefined) return;
    this.log.debug({ clientId, topic: delayed.will.topic }, 'delayed will cancelled: the client is back');
    delayed.timer.clear();
    this.delayed.delete(clientId);
  }

  /** Shutdown: every delayed will goes out now. */
  publishDelayedNow(): void {
    for (const { will, timer } of this.delayed.values()) {
      timer.clear();
      this.publishNow(will);
    }
    this.delayed.clear();
  }

  settled(): Promise<unknown> {
    return Promise.all(this.pending);
  }
}

/**
 * The will as published: its Message Expiry Interval (kept as a property until now) counts from
 * the publication, not from CONNECT (5.0 §3.1.3.2.4), so a long-lived client's will still goes out.
 */
export function willPublication(will: Message, now = Date.now()): Message {
  const props = will.properties;
  if (props?.messageExpiryInterval === undefined) return will;
  const { messageExpiryInterval, ...rest } = props;
  const message: Message = { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, expiresAt: now + messageExpiryInterval * 1000 };
  if (Object.keys(rest).length > 0) message.properties = rest;
  return message;
}
