// --auth redis on a node: the users and ACL text read from Redis (store/redis/auth-source.ts)
// made into the broker's Credentials and Acl, the same objects a password file and an acl_file
// give, so logins, SCRAM and ACL decisions work as with files. A change in Redis is applied as
// SIGHUP applies a changed file: users swapped, the ACL reloaded through Broker.reloadAcl (which
// removes the subscriptions now denied); a bad entry or ACL text logs one error line and the old
// ones stay. At start a bad one stops the node, as a bad file does.
import type { Logger } from '../log.js';
import { HashedCredentials, reloadCredentials } from '../broker/auth/credentials.js';
import { parseUserTable } from '../broker/auth/password-file.js';
import { Acl } from '../broker/acl/acl.js';
import type { Broker } from '../broker/broker.js';
import { RedisAuthSource } from '../store/redis/auth-source.js';
import type { RedisTarget } from '../store/redis/target.js';
import { DEFAULT_PREFIX, redisKeys } from '../store/redis/keys.js';

export interface RedisAuth {
  credentials: HashedCredentials;
  acl: Acl;
  /** From now on, changes in Redis are applied to this broker. */
  attach(broker: Broker): void;
  /** Reads Redis again and applies (SIGHUP). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** Reads the users and rules (throws PasswordFileError / AclError for a bad one, RedisUnreachableError). */
export async function openRedisAuth(target: RedisTarget, prefix: string | undefined, connectTimeoutMs: number, log: Logger): Promise<RedisAuth> {
  const keys = redisKeys(prefix ?? DEFAULT_PREFIX);
  const source = await RedisAuthSource.open({ target, keys, logger: log, connectTimeoutMs });
  try {
    const credentials = new HashedCredentials(`users in Redis (${keys.authUsers})`, () => parseUserTable(source.users, keys.authUsers));
    const acl = Acl.fromText(keys.authAcl, () => source.acl);
    // What was last applied: a change of the users alone leaves the ACL (and its caches) alone.
    let users = source.users;
    let aclText = source.acl;
    return {
      credentials,
      acl,
      attach: (broker) =>
        source.watch(() => {
          const usersChanged = !sameEntries(users, source.users);
          const aclChanged = aclText !== source.acl;
          users = source.users;
          aclText = source.acl;
          if (usersChanged) reloadCredentials(credentials, log);
          if (aclChanged) broker.reloadAcl();
          if (!usersChanged && !aclChanged) log.debug('auth: users and ACL read again from Redis: no change');
        }),
      refresh: () => source.refresh(),
      close: () => source.close(),
    };
  } catch (err) {
    await source.close();
    throw err;
  }
}

function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
