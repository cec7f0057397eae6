// `starling passwd --redis URL ...`: the users and ACL rules of `--auth redis`, kept in Redis
// ({prefix}auth:users, {prefix}auth:acl) instead of files. Every node reads them again as soon as
// a change is written (store/redis/auth-admin.ts publishes the notice with it), so there is no
// file to copy to each host and no SIGHUP to send.
//
//   starling passwd --redis URL [-b] USER [PASSWORD]   set USER's password (asked twice without -b)
//   starling passwd --redis URL -D USER                delete USER
//   starling passwd --redis URL -l                     list the users
//   starling passwd --redis URL --acl-file FILE        set the ACL (Mosquitto acl_file syntax) from FILE
//   starling passwd --redis URL --acl-clear            remove the ACL: everything allowed again
//   starling passwd --redis URL --acl-show             print the ACL
//
// --prefix P (default: STARLING_REDIS_PREFIX, else "starling:") names the cluster's keys. Passwords
// are hashed here, as in a file (password-hash.ts); an ACL is parsed here and refused with the
// file's line if it is bad, so nothing a node would reject ever reaches Redis.
import { readFileSync } from 'node:fs';
import { isRedisUrl, redactUrl } from '../config-redis.js';
import { hashPassword } from '../broker/auth/password-hash.js';
import { AclError, parseAcl } from '../broker/acl/parse.js';
import { RedisAuthAdmin } from '../store/redis/auth-admin.js';
import { DEFAULT_PREFIX } from '../store/redis/keys.js';
import { checkUser, UsageError } from './cli.js';
import { readPassword } from './prompt.js';

/** Same variable the broker reads its prefix from (cluster/index.ts). */
const PREFIX_ENV = 'STARLING_REDIS_PREFIX';

type Action =
  | { kind: 'set'; user: string; password: string | undefined }
  | { kind: 'delete'; user: string }
  | { kind: 'list' }
  | { kind: 'acl-set'; file: string }
  | { kind: 'acl-clear' }
  | { kind: 'acl-show' };

interface RedisCommand {
  url: string;
  prefix: string;
  action: Action;
}

/** Parses the --redis form (throws UsageError); the caller prints errors and picks the exit code. */
export function parseRedisArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RedisCommand {
  let url: string | undefined;
  let prefix = env[PREFIX_ENV] ?? DEFAULT_PREFIX;
  let batch = false;
  let remove = false;
  let list = false;
  let aclFile: string | undefined;
  let aclClear = false;
  let aclShow = false;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      const v = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--redis') url = value();
    else if (flag === '--prefix') prefix = value();
    else if (flag === '--acl-file') aclFile = value();
    else if (flag === '--acl-clear') aclClear = true;
    else if (flag === '--acl-show') aclShow = true;
    else if (flag === '-b') batch = true;
    else if (flag === '-D') remove = true;
    else if (flag === '-l') list = true;
    else if (flag === '--') {
      args.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}${arg === '-c' || arg === '-U' ? ' (files only)' : ''}`);
    else args.push(arg);
  }
  if (url === undefined || !isRedisUrl(url)) throw new UsageError(`--redis: '${redactUrl(url ?? '')}' is not a Redis URL (redis://[user:password@]host[:port][/db])`);
  const modes = [batch, remove, list, aclFile !== undefined, aclClear, aclShow].filter(Boolean).length;
  if (modes > 1) throw new UsageError('-b, -D, -l, --acl-file, --acl-clear and --acl-show go alone');
  let action: Action;
  if (list || aclFile !== undefined || aclClear || aclShow) {
    if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`);
    action = list ? { kind: 'list' } : aclFile !== undefined ? { kind: 'acl-set', file: aclFile } : aclClear ? { kind: 'acl-clear' } : { kind: 'acl-show' };
  } else {
    if (args.length !== (batch ? 2 : 1)) throw new UsageError(`expected ${batch ? 'USER PASSWORD' : 'USER'}`);
    checkUser(args[0]);
    action = remove ? { kind: 'delete', user: args[0] } : { kind: 'set', user: args[0], password: batch ? args[1] : undefined };
  }
  return { url, prefix, action };
}

/** Runs a parsed command; throws an Error whose message is the one line to print. */
export async function runRedisCommand(command: RedisCommand, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { action } = command;
  // Everything that can be wrong locally is checked before connecting: a bad ACL never reaches Redis.
  let aclText: string | undefined;
  if (action.kind === 'acl-set') aclText = readAcl(action.file);
  const password = action.kind === 'set' ? (action.password ?? (await readPassword())) : undefined;
  const hash = password === undefined ? undefined : await hashPassword(password);
  const admin = await RedisAuthAdmin.open(command.url, command.prefix);
  try {
    switch (action.kind) {
      case 'set':
        return await admin.setUser(action.user, hash!);
      case 'delete':
        if (!(await admin.deleteUser(action.user))) throw new Error(`user '${action.user}' is not in ${admin.usersKey}`);
        return;
      case 'list':
        for (const user of await admin.listUsers()) out.write(`${user}\n`);
        return;
      case 'acl-set':
        return await admin.setAcl(aclText!);
      case 'acl-clear':
        await admin.clearAcl();
        return;
      case 'acl-show': {
        const text = await admin.getAcl();
        if (text === undefined) throw new Error(`no ACL in ${admin.aclKey} (everything is allowed)`);
        out.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
        return;
      }
    }
  } finally {
    await admin.close();
  }
}

/** The file's text, if it parses as an ACL (AclError: one line naming the file and line). */
function readAcl(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AclError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  parseAcl(text, file);
  return text;
}
