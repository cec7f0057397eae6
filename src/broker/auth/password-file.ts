// A password file: one `user:hash` a line, as Mosquitto's password_file and mosquitto_passwd
// have them (hash formats: password-hash.ts). Lines whose first character is "#" are comments,
// lines of blanks are skipped, and blanks around the user and the hash are ignored, as
// Mosquitto does. Stricter than Mosquitto, which skips them silently: a line without ":", an
// empty user, a user twice, or a hash in no known format is an error naming the file and the
// line, so a typo never quietly locks a user out (or, worse, leaves an old password working).
import { readFileSync } from 'node:fs';
import { parseHash, type PasswordHash } from './password-hash.js';

export class PasswordFileError extends Error {}

export interface PasswordFileLine {
  /** 1-based. */
  number: number;
  /** The line as read (without its end of line). */
  text: string;
  /** The user on it; undefined for a comment or a blank line. */
  user: string | undefined;
  /** After the first ":", blanks trimmed (undefined for a comment or a blank line). */
  secret: string | undefined;
}

/** Splits a file into lines; users and secrets found but not checked (the tool edits lines it cannot verify). */
export function splitPasswordFile(text: string, file: string): PasswordFileLine[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, i) => {
    const number = i + 1;
    if (line.startsWith('#') || line.trim() === '') return { number, text: line, user: undefined, secret: undefined };
    const colon = line.indexOf(':');
    if (colon === -1) throw new PasswordFileError(`${file}:${number}: no ':' (expected user:hash)`);
    const user = line.slice(0, colon).trim();
    if (user === '') throw new PasswordFileError(`${file}:${number}: empty user name`);
    return { number, text: line, user, secret: line.slice(colon + 1).trim() };
  });
}

/** Users and their hashes; throws PasswordFileError naming the file and line of the first bad line. */
export function parsePasswordFile(text: string, file: string): Map<string, PasswordHash> {
  const users = new Map<string, PasswordHash>();
  for (const line of splitPasswordFile(text, file)) {
    if (line.user === undefined) continue;
    if (users.has(line.user)) throw new PasswordFileError(`${file}:${line.number}: user '${line.user}' a second time`);
    const hash = parseHash(line.secret ?? '');
    if (typeof hash === 'string') throw new PasswordFileError(`${file}:${line.number}: user '${line.user}': ${hash}`);
    users.set(line.user, hash);
  }
  return users;
}

/** Reads and parses the file (synchronously: at start and on SIGHUP, never per login). */
export function loadPasswordFile(file: string): Map<string, PasswordHash> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PasswordFileError(`${file}: cannot read the password file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parsePasswordFile(text, file);
}

/**
 * Users and their hashes from a table kept elsewhere (Redis' {prefix}auth:users: user -> the text
 * after "user:"); as strict as a file: a bad entry throws PasswordFileError naming `where` and the user.
 */
export function parseUserTable(entries: ReadonlyMap<string, string>, where: string): Map<string, PasswordHash> {
  const users = new Map<string, PasswordHash>();
  for (const [user, secret] of entries) {
    const hash = parseHash(secret.trim());
    if (typeof hash === 'string') throw new PasswordFileError(`${where}: user '${user}': ${hash}`);
    users.set(user, hash);
  }
  return users;
}
