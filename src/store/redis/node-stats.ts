// Cluster-wide $SYS figures: each node writes its counters to {p}stats:{nodeId} now and then;
// the sum over live nodes is what $SYS publishes (counters of a node that died are dropped by
// recovery, so a dead node stops counting).
import type { RedisConn } from './connection.js';
import type { RedisKeys } from './keys.js';
import type { NodeRegistry } from './membership.js';

export type Counters = Record<string, number>;

export class NodeStats {
  constructor(
    private readonly redis: RedisConn,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly members: Pick<NodeRegistry, 'liveNodes'>,
  ) {}

  async write(counters: Counters): Promise<void> {
    await this.redis.hset(this.keys.stats(this.nodeId), counters);
  }

  /** Field-wise sums over every live node's last written counters. */
  async sum(): Promise<Counters> {
    const nodes = await this.members.liveNodes();
    const pipeline = this.redis.pipeline();
    for (const id of nodes) pipeline.hgetall(this.keys.stats(id));
    const replies = (await pipeline.exec()) ?? [];
    const total: Counters = {};
    for (const [err, hash] of replies) {
      if (err !== null) continue;
      for (const [field, value] of Object.entries(hash as Record<string, string>)) total[field] = (total[field] ?? 0) + Number(value);
    }
    return total;
  }
}
