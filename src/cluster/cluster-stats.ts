// $SYS across the cluster: the StatsSource a worker gives its SysPublisher. Each call writes
// this node's figures to Redis and returns the sums over every live node; the retained count
// is already cluster-wide (one shared store) and is taken as is.
import type { BrokerStats, StatsSource } from '../broker/stats.js';
import type { RedisBackend } from '../store/redis/index.js';
import { NodeStats } from '../store/redis/node-stats.js';

export class ClusterStats implements StatsSource {
  private readonly nodeStats: NodeStats;

  constructor(
    private readonly backend: RedisBackend,
    private readonly local: StatsSource,
  ) {
    this.nodeStats = new NodeStats(backend.redis, backend.keys, backend.bus.nodeId, backend.membership);
  }

  /** Writes this node's figures (the worker calls it every second, $SYS or not). */
  async report(): Promise<void> {
    const { retainedMessages: _cluster, ...additive } = await this.local.stats();
    // busReceived: messages other nodes sent here (tests use it to prove routing by interest).
    await this.nodeStats.write({ ...additive, busReceived: this.backend.bus.received, reportedAt: Date.now() });
  }

  async stats(): Promise<BrokerStats> {
    const mine = await this.local.stats();
    const { retainedMessages, ...additive } = mine;
    await this.nodeStats.write(additive);
    const sums = await this.nodeStats.sum();
    const total = { ...mine };
    for (const key of Object.keys(additive) as Array<keyof typeof additive>) total[key] = sums[key] ?? mine[key];
    total.retainedMessages = retainedMessages;
    return total;
  }
}
