// The users and ACL text of --auth redis as one node sees them ({p}auth:users, {p}auth:acl:
// keys.ts). Read once at start, before the broker accepts; kept in memory, so a login or an ACL
// decision never waits on Redis; read again when {p}auth:changed says they changed, after the
// subscriber reconnects (a notice sent during an outage is lost), and on refresh() (SIGHUP).
// After each read the change handler applies them (credentials swapped, ACL reloaded); what is
// parsed, and what a bad entry does, is the broker's business (cluster/redis-auth.ts).
import { createRedisClient, waitReady, type RedisConn, type RedisLogger } from './connection.js';
import type { RedisKeys } from './keys.js';
import { onFrame, onResubscribed, subscribe } from './pubsub.js';
import { describeTarget, type RedisTarget } from './target.js';

export interface RedisAuthSourceOptions {
  target: RedisTarget | string;
  keys: RedisKeys;
  logger: RedisLogger;
  /** Bound on the first connect (--redis-timeout). */
  connectTimeoutMs: number;
}

export class RedisAuthSource {
  /** user -> password hash text, as Redis held it at the last read. */
  users: ReadonlyMap<string, string> = new Map();
  /** The ACL text at the last read; undefined: no ACL (everything allowed). */
  acl: string | undefined;
  private onChange: (() => void) | undefined;
  /** A read finished while no handler was set: watch() applies it at once. */
  private unapplied = false;
  private reading: Promise<void> | null = null;
  private again = false;
  private closed = false;

  private constructor(
    private readonly client: RedisConn,
    private readonly subscriber: RedisConn,
    private readonly keys: RedisKeys,
    private readonly log: RedisLogger,
  ) {}

  /** Connects, subscribes to the change channel, then reads (in that order: no change falls between). */
  static async open(options: RedisAuthSourceOptions): Promise<RedisAuthSource> {
    const { target, keys, logger } = options;
    const client = createRedisClient(target, 'auth', { logger });
    const subscriber = createRedisClient(target, 'auth-sub', { logger, subscriber: true });
    const source = new RedisAuthSource(client, subscriber, keys, logger);
    const where = typeof target === 'string' ? target : describeTarget(target);
    try {
      await Promise.all([waitReady(client, options.connectTimeoutMs, where), waitReady(subscriber, options.connectTimeoutMs, where)]);
      await subscribe(subscriber, keys.authChanged);
      await source.read();
    } catch (err) {
      client.disconnect();
      subscriber.disconnect();
      throw err;
    }
    onFrame(subscriber, (channel) => {
      if (channel.toString() === keys.authChanged) void source.refresh();
    });
    // 'ready' again: a reconnect (ioredis has subscribed again; on a cluster, moved to a new shard
    // master); what changed meanwhile is read.
    onResubscribed(subscriber, () => void source.refresh());
    return source;
  }

  /** Sets what applies a read (at once if one came in before). */
  watch(onChange: () => void): void {
    this.onChange = onChange;
    if (this.unapplied) {
      this.unapplied = false;
      this.apply(onChange);
    }
  }

  /** The handler logs its own errors; one it did not expect must not end the process. */
  private apply(onChange: () => void): void {
    try {
      onChange();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'auth: applying the users and ACL read from Redis failed');
    }
  }

  /** Reads again, then applies; a notice during a read makes one more read after it. Never rejects. */
  refresh(): Promise<void> {
    if (this.reading !== null) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          await this.read();
        } catch (err) {
          // The reconnect's 'ready' reads again; until then the users and rules read before stay.
          if (!this.closed) this.log.error({ err: (err as Error).message }, 'auth: could not read the users and ACL from Redis; the ones read before stay');
          return;
        }
        if (this.onChange === undefined) this.unapplied = true;
        else this.apply(this.onChange);
      } while (this.again && !this.closed);
    })().finally(() => (this.reading = null));
    return this.reading;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.client.quit().catch(() => this.client.disconnect()), this.subscriber.quit().catch(() => this.subscriber.disconnect())]);
  }

  /** Both keys in one MULTI: never the users of one change with the rules of another. */
  private async read(): Promise<void> {
    const replies = await this.client.multi().hgetall(this.keys.authUsers).get(this.keys.authAcl).exec();
    if (replies === null) throw new Error('MULTI aborted');
    const [[usersErr, users], [aclErr, acl]] = replies as [[Error | null, Record<string, string>], [Error | null, string | null]];
    if (usersErr !== null) throw usersErr;
    if (aclErr !== null) throw aclErr;
    this.users = new Map(Object.entries(users));
    this.acl = acl ?? undefined;
  }
}
