// `starling passwd`: edits a password file with mosquitto_passwd's flags, so habits carry over.
//
//   starling passwd [-c | -D] FILE USER          set USER's password (asked twice), -c creating FILE
//                                                anew; -D deletes USER
//   starling passwd [-c] -b FILE USER PASSWORD   the password from the command line (visible in ps)
//   starling passwd -U FILE                      hashes every plain-text user:password line in place
//   starling passwd --redis URL ...              users and ACL kept in Redis (--auth redis): redis.ts
//
// New hashes are Starling's ($starling$scrypt…, with SCRAM-SHA-256 keys: password-hash.ts); every
// other line (comments, other users, Mosquitto's $6$/$7$ hashes) is kept as it was. The file is
// written to a temporary file beside it and renamed over it, keeping its mode (0600 for a new one).
// The password is read from the terminal without echo; when stdin is not a terminal, one line is
// read from it (no confirmation), so `echo pw | starling passwd FILE USER` works in scripts.
// Errors are one line on stderr; exit 0 on success, 1 on any error, like mosquitto_passwd.
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PasswordFileError, splitPasswordFile, type PasswordFileLine } from '../broker/auth/password-file.js';
import { hashPassword, parseHash } from '../broker/auth/password-hash.js';
import { readPassword } from './prompt.js';

const USAGE = [
  'usage: starling passwd [-c | -D] FILE USER',
  '       starling passwd [-c] -b FILE USER PASSWORD',
  '       starling passwd -U FILE',
  ' -b  batch mode: the password from the command line',
  ' -c  create FILE, overwriting it if it exists',
  ' -D  delete USER',
  ' -U  hash the plain-text passwords of FILE in place (lines already hashed stay)',
  '',
  'users and ACL kept in Redis (starling --auth redis):',
  '       starling passwd --redis URL [--prefix P] [-D] USER',
  '       starling passwd --redis URL [--prefix P] -b USER PASSWORD',
  '       starling passwd --redis URL [--prefix P] -l | --acl-file FILE | --acl-clear | --acl-show',
  ' --redis URL       the cluster\'s Redis; every node applies a change within a second',
  ' --prefix P        its key prefix (default: STARLING_REDIS_PREFIX, else starling:)',
  ' -l                list the users',
  ' --acl-file FILE   set the ACL (Mosquitto acl_file syntax; checked first, a bad one is not stored)',
  ' --acl-clear       remove the ACL (everything allowed)',
  ' --acl-show        print the ACL',
].join('\n');

export class UsageError extends Error {}

interface Command {
  batch: boolean;
  create: boolean;
  remove: boolean;
  update: boolean;
  args: string[];
}

export async function runPasswdCli(argv: readonly string[]): Promise<number> {
  try {
    if (argv.some((a) => a === '--redis' || a.startsWith('--redis='))) {
      // Loaded only here: the file mode needs no Redis client.
      const redis = await import('./redis.js');
      if (argv.includes('-h') || argv.includes('--help')) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      await redis.runRedisCommand(redis.parseRedisArgs(argv));
      return 0;
    }
    const command = parseArgs(argv);
    if (command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    await run(command);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) process.stderr.write(`starling passwd: ${err.message}\n${USAGE}\n`);
    else if (err instanceof PasswordFileError) process.stderr.write(`starling passwd: ${err.message}\n`);
    else process.stderr.write(`starling passwd: ${(err as Error).message}\n`);
    return 1;
  }
}

function parseArgs(argv: readonly string[]): Command | 'help' {
  const command: Command = { batch: false, create: false, remove: false, update: false, args: [] };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-') && argv[i] !== '-'; i++) {
    const flag = argv[i];
    if (flag === '-h' || flag === '--help') return 'help';
    else if (flag === '-b') command.batch = true;
    else if (flag === '-c') command.create = true;
    else if (flag === '-D') command.remove = true;
    else if (flag === '-U') command.update = true;
    else if (flag === '--') {
      i++;
      break;
    } else throw new UsageError(`unknown option ${flag}`);
  }
  command.args = argv.slice(i);
  const { batch, create, remove, update, args } = command;
  if ([batch || create, remove, update].filter(Boolean).length > 1 || (remove && create)) throw new UsageError('-U, -D and -b/-c go alone');
  const wanted = update ? 1 : batch ? 3 : 2;
  if (args.length !== wanted) throw new UsageError(`expected ${update ? 'FILE' : batch ? 'FILE USER PASSWORD' : 'FILE USER'}`);
  if (!update) checkUser(args[1]);
  return command;
}

export function checkUser(user: string): void {
  if (user === '') throw new Error('the user name is empty');
  if (user.includes(':')) throw new Error(`user name '${user}' contains ':'`);
  if (user !== user.trim()) throw new Error(`user name '${user}' starts or ends with blanks (they would be ignored when the file is read)`);
  if (/[\p{Cc}]/u.test(user)) throw new Error('the user name contains a control character');
}

async function run(command: Command): Promise<void> {
  const [file, user] = command.args;
  if (command.update) return write(file, await hashPlainLines(file, readLines(file)));
  if (command.remove) {
    const lines = readLines(file);
    const kept = lines.filter((l) => l.user !== user);
    if (kept.length === lines.length) throw new Error(`user '${user}' is not in ${file}`);
    return write(file, kept.map((l) => l.text));
  }
  const lines = command.create ? [] : readLines(file);
  const password = command.batch ? command.args[2] : await readPassword();
  const line = `${user}:${await hashPassword(password)}`;
  const at = lines.findIndex((l) => l.user === user);
  const texts = lines.map((l) => l.text);
  if (at === -1) texts.push(line);
  else texts[at] = line;
  write(file, texts, command.create);
}

function readLines(file: string): PasswordFileLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${file}: ${code ?? (err as Error).message}${code === 'ENOENT' ? ' (-c creates it)' : ''}`);
  }
  return splitPasswordFile(text, file);
}

/** -U: every user line whose secret is not a hash in a known format is taken as a plain-text password. */
async function hashPlainLines(file: string, lines: PasswordFileLine[]): Promise<string[]> {
  const texts: string[] = [];
  for (const line of lines) {
    if (line.user === undefined || typeof parseHash(line.secret ?? '') !== 'string') texts.push(line.text);
    else texts.push(`${line.user}:${await hashPassword(line.secret ?? '')}`);
  }
  if (texts.length === 0) throw new Error(`${file} has no users`);
  return texts;
}

/** Beside the file, then renamed over it: a reader (a broker on SIGHUP) never sees half a file. */
function write(file: string, lines: string[], create = false): void {
  let mode = 0o600;
  if (!create) mode = statSync(file).mode & 0o777;
  else {
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      // A new file: readable by its owner only.
    }
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
