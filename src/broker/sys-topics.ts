// $SYS topics with Mosquitto's names, published retained every --sys-interval seconds.
// Numbers come from a StatsSource, so a cluster can publish the sum over its workers.
import type { Message } from '../store/types.js';
import type { BrokerStats, StatsSource } from './stats.js';
import { setLongTimeout, type LongTimeout } from './long-timer.js';

export const BROKER_VERSION = 'starling 0.1.0';

/** `$SYS` itself or a topic under it (the first level, exactly: `$SYSTEM/x` is an ordinary topic). Read-only for clients. */
export function isSysTopic(topic: string): boolean {
  return topic.startsWith('$SYS') && (topic.length === 4 || topic.charCodeAt(4) === 0x2f);
}

export function sysMessages(stats: BrokerStats, uptimeSeconds: number): Array<[topic: string, value: string]> {
  return [
    ['$SYS/broker/version', BROKER_VERSION],
    ['$SYS/broker/uptime', `${uptimeSeconds} seconds`],
    ['$SYS/broker/clients/connected', String(stats.clientsConnected)],
    ['$SYS/broker/clients/total', String(stats.clientsTotal)],
    ['$SYS/broker/messages/received', String(stats.messagesReceived)],
    ['$SYS/broker/messages/sent', String(stats.messagesSent)],
    ['$SYS/broker/publish/messages/dropped', String(stats.messagesDropped)],
    ['$SYS/broker/subscriptions/count', String(stats.subscriptions)],
    ['$SYS/broker/retained messages/count', String(stats.retainedMessages)],
    ['$SYS/broker/bytes/received', String(stats.bytesReceived)],
    ['$SYS/broker/bytes/sent', String(stats.bytesSent)],
  ];
}

export class SysPublisher {
  private timer: LongTimeout | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly source: StatsSource,
    private readonly publish: (message: Message) => void,
    private readonly intervalSeconds: number,
  ) {}

  start(): void {
    if (this.intervalSeconds <= 0 || this.timer !== null) return;
    void this.publishNow();
    this.arm();
  }

  stop(): void {
    this.timer?.clear();
    this.timer = null;
  }

  /** The next publication: a long timer, so an interval past 24.8 days (a library caller's) does not fire every 1 ms. */
  private arm(): void {
    this.timer = setLongTimeout(() => {
      void this.publishNow();
      if (this.timer !== null) this.arm();
    }, this.intervalSeconds * 1000);
  }

  async publishNow(): Promise<void> {
    let stats: BrokerStats;
    try {
      stats = await this.source.stats();
    } catch {
      return; // a cluster peer may be gone for a moment; the next tick tries again
    }
    const uptime = Math.floor((Date.now() - this.startedAt) / 1000);
    for (const [topic, value] of sysMessages(stats, uptime)) {
      this.publish({ topic, payload: Buffer.from(value), qos: 0, retain: true });
    }
  }
}
