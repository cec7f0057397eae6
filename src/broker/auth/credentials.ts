// Who may log in with a user name and password: the broker's one Credentials object, made from
// config. --password-file gives a file of users (password-file.ts), --username/--password one
// user, --auth redis a table kept in Redis (read by the cluster worker and passed in), none of
// them no users (a user name is then only a label). The same object answers CONNECT's User
// Name/Password (authenticate()) and SCRAM-SHA-256's lookups (ScramCredentialStore), and is what
// SIGHUP (or a change in Redis) re-reads. Nothing is kept in plain text but the --password of
// the command line.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { anonymousAllowed, type BrokerConfig } from '../../config.js';
import type { Logger } from '../../log.js';
import { loadPasswordFile } from './password-file.js';
import { SCRYPT_DEFAULTS, verifyPassword, type PasswordHash } from './password-hash.js';
import { SingleUserScramStore, type ScramCredentialStore, type ScramCredentials } from './scram-sha-256.js';

export interface Credentials extends ScramCredentialStore {
  /** Whether there are users: a user name is then checked, and anonymous clients are refused unless --allow-anonymous. */
  readonly configured: boolean;
  /** Whether password is username's. A promise when checking is slow (hashes are verified off the event loop). */
  check(username: string, password: Buffer | undefined): boolean | Promise<boolean>;
  /** Re-reads the users (SIGHUP): a line for the log, or undefined when there is nothing to re-read. Throws (PasswordFileError) and keeps the old users when the new ones are bad. */
  reload(): string | undefined;
}

export function createCredentials(config: BrokerConfig): Credentials {
  // The users are in Redis: whoever starts the broker reads them first and passes them in (cluster/redis-auth.ts).
  if (config.auth === 'redis') throw new Error('--auth redis: the broker needs the users read from Redis (StartOptions.credentials)');
  if (config.passwordFile !== undefined) return new PasswordFileCredentials(config.passwordFile);
  if (config.username !== undefined && config.password !== undefined) return new SingleUserCredentials(config.username, config.password);
  return NO_CREDENTIALS;
}

export type AuthResult = 'ok' | 'bad-credentials' | 'anonymous';

/** CONNECT's User Name and Password against the credentials (no promise when nothing slow is checked). */
export function authenticate(config: BrokerConfig, credentials: Credentials, username: string | undefined, password: Buffer | undefined): AuthResult | Promise<AuthResult> {
  if (username === undefined) return anonymousAllowed(config) ? 'ok' : 'anonymous';
  if (!credentials.configured) return 'ok';
  const checked = credentials.check(username, password);
  return typeof checked === 'boolean' ? result(checked) : checked.then(result);
}

function result(ok: boolean): AuthResult {
  return ok ? 'ok' : 'bad-credentials';
}

const NO_CREDENTIALS: Credentials = {
  configured: false,
  check: () => true,
  lookup: () => undefined,
  reload: () => undefined,
};

/** --username/--password. */
export class SingleUserCredentials implements Credentials {
  readonly configured = true;
  private readonly scram: SingleUserScramStore;
  private readonly usernameDigest: Buffer;
  private readonly passwordDigest: Buffer;

  constructor(username: string, password: string) {
    this.scram = new SingleUserScramStore(username, password);
    this.usernameDigest = sha256(Buffer.from(username));
    this.passwordDigest = sha256(Buffer.from(password));
  }

  check(username: string, password: Buffer | undefined): boolean {
    // Constant-time comparisons of digests, so lengths do not leak either.
    const userOk = timingSafeEqual(sha256(Buffer.from(username)), this.usernameDigest);
    return userOk && password !== undefined && timingSafeEqual(sha256(password), this.passwordDigest);
  }

  lookup(username: string): ScramCredentials | undefined {
    return this.scram.lookup(username);
  }

  reload(): undefined {
    return undefined;
  }
}

/**
 * Users with hashed passwords from a source read at start and again on reload(): a password file,
 * or the table --auth redis keeps (read() parses what was last fetched from Redis; never per login).
 */
export class HashedCredentials implements Credentials {
  readonly configured = true;
  private users: Map<string, PasswordHash>;
  /** Checked for an unknown user, so that a wrong name costs the time of a wrong password. */
  private readonly decoy: PasswordHash = { kind: 'scrypt', ...SCRYPT_DEFAULTS, salt: randomBytes(16), hash: randomBytes(32), scram: undefined };

  constructor(
    /** Names the source in the reload line ("password file /etc/starling/passwd"). */
    private readonly source: string,
    private readonly read: () => Map<string, PasswordHash>,
  ) {
    this.users = read();
  }

  get size(): number {
    return this.users.size;
  }

  async check(username: string, password: Buffer | undefined): Promise<boolean> {
    const entry = this.users.get(username);
    const ok = await verifyPassword(entry ?? this.decoy, password ?? Buffer.alloc(0));
    return ok && entry !== undefined && password !== undefined;
  }

  /** SCRAM keys exist only on Starling's own lines: a user with a Mosquitto hash is, to SCRAM, unknown. */
  lookup(username: string): ScramCredentials | undefined {
    const entry = this.users.get(username);
    return entry?.kind === 'scrypt' ? entry.scram : undefined;
  }

  reload(): string {
    this.users = this.read();
    return `${this.source} re-read: ${this.users.size} users`;
  }
}

/** --password-file: its users, read at start and again on reload(). */
export class PasswordFileCredentials extends HashedCredentials {
  constructor(readonly file: string) {
    super(`password file ${file}`, () => loadPasswordFile(file));
  }
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** SIGHUP: re-reads the users, logging one line; a bad file logs one error line and the users read before stay. */
export function reloadCredentials(credentials: Credentials, log: Logger): void {
  try {
    const done = credentials.reload();
    if (done === undefined) log.debug('SIGHUP: no password file to re-read');
    else log.info(done);
  } catch (err) {
    log.error(`${(err as Error).message}; keeping the users read before`);
  }
}
