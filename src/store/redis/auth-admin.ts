// Writes of `starling passwd --redis`: a user's hash, a user removed, the ACL text set or
// removed. Each write and the notice on {p}auth:changed go in one MULTI, so every node hears of
// a change exactly when it is visible (auth-source.ts reads both keys again). What is written
// is checked by the caller: here are only the Redis commands.
import { createRedisClient, isCluster, waitReady, type RedisConn } from './connection.js';
import { publishIn } from './pubsub.js';
import type { RedisTarget } from './target.js';
import { DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';

export class RedisAuthAdmin {
  private constructor(
    private readonly client: RedisConn,
    private readonly keys: RedisKeys,
  ) {}

  /** Connects (RedisUnreachableError after timeoutMs). */
  static async open(target: RedisTarget | string, prefix = DEFAULT_PREFIX, timeoutMs = 5000): Promise<RedisAuthAdmin> {
    const client = createRedisClient(target, 'passwd', { maxBackoffMs: 500 });
    try {
      await waitReady(client, timeoutMs, typeof target === 'string' ? target : undefined);
    } catch (err) {
      client.disconnect();
      throw err;
    }
    return new RedisAuthAdmin(client, redisKeys(prefix));
  }

  get usersKey(): string {
    return this.keys.authUsers;
  }

  get aclKey(): string {
    return this.keys.authAcl;
  }

  async setUser(user: string, hash: string): Promise<void> {
    await this.notifying(this.client.multi().hset(this.keys.authUsers, user, hash));
  }

  /** Whether the user was there. */
  async deleteUser(user: string): Promise<boolean> {
    const replies = await this.notifying(this.client.multi().hdel(this.keys.authUsers, user));
    return replies[0] === 1;
  }

  async setAcl(text: string): Promise<void> {
    await this.notifying(this.client.multi().set(this.keys.authAcl, text));
  }

  /** Whether there was an ACL. */
  async clearAcl(): Promise<boolean> {
    const replies = await this.notifying(this.client.multi().del(this.keys.authAcl));
    return replies[0] === 1;
  }

  /** The ACL text, or undefined when there is none. */
  async getAcl(): Promise<string | undefined> {
    return (await this.client.get(this.keys.authAcl)) ?? undefined;
  }

  /** The user names (not their hashes). */
  async listUsers(): Promise<string[]> {
    return (await this.client.hkeys(this.keys.authUsers)).sort();
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** Runs the MULTI with the notice appended; the replies of the commands before it. */
  private async notifying(multi: ReturnType<RedisConn['multi']>): Promise<unknown[]> {
    const replies = await publishIn(multi, isCluster(this.client), this.keys.authChanged, '1').exec();
    if (replies === null) throw new Error('Redis aborted the transaction');
    const failed = replies.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
    return replies.slice(0, -1).map(([, reply]) => reply);
  }
}
