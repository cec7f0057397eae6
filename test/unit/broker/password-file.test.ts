// Password files: Mosquitto's lines (written at test time by Debian's mosquitto_passwd) and
// Starling's own, parsed and verified; bad lines named by file and line; the Credentials object.
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadPasswordFile, parsePasswordFile, PasswordFileError } from '../../../src/broker/auth/password-file.js';
import { formatHash, hashPassword, parseHash, verifyPassword, type PasswordHash } from '../../../src/broker/auth/password-hash.js';
import { authenticate, createCredentials, PasswordFileCredentials } from '../../../src/broker/auth/credentials.js';
import { scramCredentials } from '../../../src/broker/auth/scram-sha-256.js';
import { anonymousAllowed, defaultConfig, parseConfig } from '../../../src/config.js';
import { createAuthMethods } from '../../../src/broker/auth/enhanced-auth.js';

vi.mock('node:crypto', async (importOriginal) => {
  // A spy, not a mock: the real timingSafeEqual runs; the test sees that it was the one used.
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'starling-pw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file written by mosquitto_passwd -c -b (extra: e.g. ['-H', 'sha512']). */
async function mosquittoFile(name: string, user: string, password: string, extra: string[] = []): Promise<string> {
  const file = join(dir, name);
  await run('mosquitto_passwd', [...extra, '-c', '-b', file, user, password]);
  return file;
}

function only(users: Map<string, PasswordHash>, user: string): PasswordHash {
  const entry = users.get(user);
  if (entry === undefined) throw new Error(`no ${user}`);
  return entry;
}

describe('Mosquitto password files (written by mosquitto_passwd)', () => {
  it('$7$ (PBKDF2-SHA512, the default): the right password passes, a wrong one fails', async () => {
    const file = await mosquittoFile('m7', 'alice', 'pässword 7');
    expect(readFileSync(file, 'utf8')).toMatch(/^alice:\$7\$\d+\$/);
    const entry = only(loadPasswordFile(file), 'alice');
    expect(entry.kind).toBe('pbkdf2-sha512');
    expect(await verifyPassword(entry, Buffer.from('pässword 7'))).toBe(true);
    expect(await verifyPassword(entry, Buffer.from('pässword 8'))).toBe(false);
    expect(await verifyPassword(entry, Buffer.alloc(0))).toBe(false);
  });

  it('$6$ (SHA-512, -H sha512): the right password passes, a wrong one fails', async () => {
    const file = await mosquittoFile('m6', 'bob', 'hunter2', ['-H', 'sha512']);
    expect(readFileSync(file, 'utf8')).toMatch(/^bob:\$6\$/);
    const entry = only(loadPasswordFile(file), 'bob');
    expect(entry.kind).toBe('sha512');
    expect(await verifyPassword(entry, Buffer.from('hunter2'))).toBe(true);
    expect(await verifyPassword(entry, Buffer.from('hunter3'))).toBe(false);
  });

  it('a line read and written again is the same text (the tool keeps Mosquitto lines as they are)', async () => {
    const file = await mosquittoFile('m7b', 'carol', 'x');
    const line = readFileSync(file, 'utf8').trim();
    expect(`carol:${formatHash(only(loadPasswordFile(file), 'carol'))}`).toBe(line);
  });

  it('verification compares with crypto.timingSafeEqual', async () => {
    const file = await mosquittoFile('m7c', 'dave', 'pw');
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    expect(await verifyPassword(only(loadPasswordFile(file), 'dave'), Buffer.from('nope'))).toBe(false);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe("Starling's own line", () => {
  it('carries scrypt parameters and SCRAM-SHA-256 keys; verifies the password; the SCRAM keys are those of the same password', async () => {
    const text = await hashPassword('s3cret', { N: 1024, r: 8, p: 1 });
    expect(text).toMatch(/^\$starling\$scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\$scram-sha-256\$4096\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const entry = parseHash(text);
    if (typeof entry === 'string' || entry.kind !== 'scrypt' || entry.scram === undefined) throw new Error(String(entry));
    expect(await verifyPassword(entry, Buffer.from('s3cret'))).toBe(true);
    expect(await verifyPassword(entry, Buffer.from('s3cret '))).toBe(false);
    const expected = scramCredentials('s3cret', entry.scram.salt, entry.scram.iterations);
    expect(entry.scram.storedKey.equals(expected.storedKey)).toBe(true);
    expect(entry.scram.serverKey.equals(expected.serverKey)).toBe(true);
    expect(formatHash(entry)).toBe(text);
  });

  it('the default cost is scrypt N=16384, r=8, p=1', async () => {
    expect(await hashPassword('x')).toMatch(/^\$starling\$scrypt\$N=16384,r=8,p=1\$/);
  });

  it('a line without the SCRAM part is read (password only)', async () => {
    const full = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    const short = full.split('$').slice(0, 6).join('$');
    const entry = parseHash(short);
    if (typeof entry === 'string' || entry.kind !== 'scrypt') throw new Error(String(entry));
    expect(entry.scram).toBeUndefined();
    expect(await verifyPassword(entry, Buffer.from('pw'))).toBe(true);
  });
});

describe('file syntax', () => {
  it('skips comments and blank lines, trims blanks around user and hash, as Mosquitto does', async () => {
    const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    const users = parsePasswordFile(`# users\n\n   \n  erin  :  ${hash}  \r\n`, 'f');
    expect([...users.keys()]).toEqual(['erin']);
    expect(await verifyPassword(only(users, 'erin'), Buffer.from('pw'))).toBe(true);
  });

  it.each([
    ['plain text', '# users\nbob:plaintext\n', /^pw:2: user 'bob': not a password hash \(plain text\? `starling passwd -U FILE` hashes it\)$/],
    ['an unknown format', 'bob:$2y$10$abcdefgh\n', /^pw:1: user 'bob': unknown hash format '\$2y\$'/],
    ['no colon', '# c\nbob\n', /^pw:2: no ':'/],
    ['an empty user', ':$6$x$y\n', /^pw:1: empty user name$/],
    ['bad base64', 'bob:$7$101$%%%$abc\n', /^pw:1: user 'bob': \$7\$: bad base64/],
    ['a $6$ hash of the wrong length', 'bob:$6$c2FsdA==$c2hvcnQ=\n', /^pw:1: user 'bob': \$6\$: .*64 bytes/],
    ['scrypt N not a power of two', 'bob:$starling$scrypt$N=1000,r=8,p=1$c2FsdA==$MDEyMzQ1Njc4OWFiY2RlZg==\n', /^pw:1: user 'bob': \$starling\$scrypt: bad parameters 'N=1000,r=8,p=1'/],
  ])('names the file and line of %s', (_name, text, message) => {
    expect(() => parsePasswordFile(text, 'pw')).toThrow(PasswordFileError);
    expect(() => parsePasswordFile(text, 'pw')).toThrow(message);
  });

  it('a user twice is an error naming the second line', async () => {
    const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    expect(() => parsePasswordFile(`u:${hash}\nv:${hash}\nu:${hash}\n`, 'pw')).toThrow(/^pw:3: user 'u' a second time$/);
  });

  it('a missing file is one error naming it', () => {
    expect(() => loadPasswordFile(join(dir, 'absent'))).toThrow(/absent: cannot read the password file: ENOENT$/);
  });
});

describe('Credentials from a password file', () => {
  it('checks CONNECT passwords; unknown users and missing passwords fail; SCRAM finds only Starling lines; reload() keeps the old users when the file is bad', async () => {
    const file = await mosquittoFile('mixed', 'mosq', 'm-pw');
    writeFileSync(file, `${readFileSync(file, 'utf8')}star:${await hashPassword('s-pw', { N: 1024, r: 8, p: 1 })}\n`);
    const config = { ...defaultConfig, passwordFile: file };
    const credentials = createCredentials(config);
    expect(credentials).toBeInstanceOf(PasswordFileCredentials);
    expect(await authenticate(config, credentials, 'mosq', Buffer.from('m-pw'))).toBe('ok');
    expect(await authenticate(config, credentials, 'star', Buffer.from('s-pw'))).toBe('ok');
    expect(await authenticate(config, credentials, 'star', Buffer.from('m-pw'))).toBe('bad-credentials');
    expect(await authenticate(config, credentials, 'nobody', Buffer.from('s-pw'))).toBe('bad-credentials');
    expect(await authenticate(config, credentials, 'star', undefined)).toBe('bad-credentials');
    expect(await authenticate(config, credentials, undefined, undefined)).toBe('anonymous');
    expect(await authenticate({ ...config, allowAnonymous: true }, credentials, undefined, undefined)).toBe('ok');
    expect((await credentials.lookup('star'))?.iterations).toBe(4096);
    expect(credentials.lookup('mosq')).toBeUndefined(); // a Mosquitto hash has no SCRAM keys
    expect(credentials.lookup('nobody')).toBeUndefined();

    writeFileSync(file, 'star:oops\n');
    expect(() => credentials.reload()).toThrow(/mixed:1: user 'star': not a password hash/);
    expect(await authenticate(config, credentials, 'star', Buffer.from('s-pw'))).toBe('ok');
    writeFileSync(file, `new:${await hashPassword('n-pw', { N: 1024, r: 8, p: 1 })}\n`);
    expect(credentials.reload()).toMatch(/re-read: 1 users$/);
    expect(await authenticate(config, credentials, 'new', Buffer.from('n-pw'))).toBe('ok');
    expect(await authenticate(config, credentials, 'star', Buffer.from('s-pw'))).toBe('bad-credentials');
  });
});

describe('--password-file in the config', () => {
  it('is read from the flag or STARLING_PASSWORD_FILE; counts as users off loopback; refuses anonymous clients unless --allow-anonymous', () => {
    expect(parseConfig(['--password-file', '/x'], {}).passwordFile).toBe('/x');
    expect(parseConfig([], { STARLING_PASSWORD_FILE: '/y' }).passwordFile).toBe('/y');
    expect(parseConfig(['--host', '0.0.0.0', '--password-file', '/x'], {}).host).toBe('0.0.0.0');
    expect(anonymousAllowed(parseConfig(['--password-file', '/x'], {}))).toBe(false);
    expect(anonymousAllowed(parseConfig(['--password-file', '/x', '--allow-anonymous'], {}))).toBe(true);
  });

  it('excludes --username/--password; offers SCRAM-SHA-256 by default', () => {
    expect(() => parseConfig(['--password-file', '/x', '--username', 'u', '--password', 'p'], {})).toThrow(/--password-file and --username\/--password exclude each other/);
    expect(parseConfig(['--password-file', '/x', '--auth-methods', 'SCRAM-SHA-256'], {}).authMethods).toBe('SCRAM-SHA-256');
  });

  it('the broker offers SCRAM-SHA-256 backed by the file', async () => {
    const file = join(dir, 'scram-offer');
    writeFileSync(file, `u:${await hashPassword('pw', { N: 1024, r: 8, p: 1 })}\n`);
    const config = { ...defaultConfig, passwordFile: file };
    expect([...createAuthMethods(config, createCredentials(config)).keys()]).toEqual(['SCRAM-SHA-256']);
  });
});
