// `starling passwd`: mosquitto_passwd's flags (-c, -b, -D, -U), run as the real command; every
// file it writes is read back with the broker's own loader and its passwords verified.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPasswordFile } from '../../../src/broker/auth/password-file.js';
import { verifyPassword } from '../../../src/broker/auth/password-hash.js';

const MAIN = ['--import', 'tsx', 'src/main.ts', 'passwd'];
const dir = mkdtempSync(join(tmpdir(), 'starling-passwd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** starling passwd ARGS, stdin from `input` (a pipe: not a terminal). */
function passwd(args: string[], input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function verifies(file: string, user: string, password: string): Promise<boolean> {
  const entry = loadPasswordFile(file).get(user);
  if (entry === undefined) throw new Error(`${user} not in ${file}`);
  return verifyPassword(entry, Buffer.from(password));
}

describe('starling passwd', () => {
  it('-c -b creates the file (mode 0600) with a Starling line that verifies', async () => {
    const file = join(dir, 'create');
    const r = await passwd(['-c', '-b', file, 'alice', 'a-pw']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(file, 'utf8')).toMatch(/^alice:\$starling\$scrypt\$N=16384,r=8,p=1\$.*\$scram-sha-256\$4096\$.*\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await verifies(file, 'alice', 'a-pw')).toBe(true);
    expect(await verifies(file, 'alice', 'b-pw')).toBe(false);
  });

  it('-b adds a user and changes one, leaving comments and Mosquitto lines byte for byte', async () => {
    const file = join(dir, 'edit');
    await promisify(execFile)('mosquitto_passwd', ['-c', '-b', file, 'mosq', 'm-pw']);
    const mosqLine = readFileSync(file, 'utf8').trim();
    writeFileSync(file, `# our users\n${mosqLine}\n\n`);
    expect((await passwd(['-b', file, 'bob', 'b-pw'])).code).toBe(0);
    const before = readFileSync(file, 'utf8').split('\n');
    expect(before.slice(0, 3)).toEqual(['# our users', mosqLine, '']);
    expect(before[3]).toMatch(/^bob:\$starling\$/);
    expect((await passwd(['-b', file, 'bob', 'b-pw2'])).code).toBe(0);
    const after = readFileSync(file, 'utf8').split('\n');
    expect(after.slice(0, 3)).toEqual(['# our users', mosqLine, '']);
    expect(after).toHaveLength(5);
    expect(await verifies(file, 'bob', 'b-pw2')).toBe(true);
    expect(await verifies(file, 'mosq', 'm-pw')).toBe(true);
    // Setting a Mosquitto user's password again upgrades its line (SCRAM keys included).
    expect((await passwd(['-b', file, 'mosq', 'm-pw'])).code).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n')[1]).toMatch(/^mosq:\$starling\$scrypt\$.*\$scram-sha-256\$/);
  });

  it('without -b reads the password from stdin when it is not a terminal (one line)', async () => {
    const file = join(dir, 'stdin');
    const r = await passwd(['-c', file, 'carol'], 'c pw with spaces\nignored\n');
    expect(r.code).toBe(0);
    expect(await verifies(file, 'carol', 'c pw with spaces')).toBe(true);
  });

  /** starling passwd ARGS on a terminal (script(1) gives it a pty), typing each answer after its prompt. */
  function onTerminal(args: string[], answers: string[]): Promise<{ code: number | null; screen: string }> {
    return new Promise((resolve, reject) => {
      const command = [process.execPath, ...MAIN, ...args].map((a) => `'${a}'`).join(' ');
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let screen = '';
      let prompts = 0;
      child.stdout.on('data', (c: Buffer) => {
        screen += c.toString();
        const seen = screen.split('assword: ').length - 1;
        for (; prompts < seen && prompts < answers.length; prompts++) child.stdin.write(`${answers[prompts]}\r`);
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, screen }));
    });
  }

  it('on a terminal asks twice without echo; different answers are refused', async () => {
    const file = join(dir, 'tty');
    const ok = await onTerminal(['-c', file, 'tina'], ['tty secret', 'tty secret']);
    expect(ok.code).toBe(0);
    expect(ok.screen).toMatch(/^Password: \r?\nReenter password: \r?\n$/);
    expect(await verifies(file, 'tina', 'tty secret')).toBe(true);
    const text = readFileSync(file, 'utf8');
    const bad = await onTerminal([file, 'tina'], ['one', 'two']);
    expect(bad.code).toBe(1);
    expect(bad.screen).toContain('starling passwd: the passwords do not match');
    expect(bad.screen).not.toContain('one');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('-D deletes a user; an unknown user is one error line, exit 1, the file unchanged', async () => {
    const file = join(dir, 'delete');
    await passwd(['-c', '-b', file, 'dave', 'x']);
    await passwd(['-b', file, 'erin', 'y']);
    expect((await passwd(['-D', file, 'dave'])).code).toBe(0);
    expect([...loadPasswordFile(file).keys()]).toEqual(['erin']);
    const text = readFileSync(file, 'utf8');
    const r = await passwd(['-D', file, 'dave']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`starling passwd: user 'dave' is not in ${file}\n`);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('-U hashes plain-text lines in place and leaves hashed lines and comments', async () => {
    const file = join(dir, 'update');
    await passwd(['-c', '-b', file, 'hashed', 'h-pw']);
    const hashedLine = readFileSync(file, 'utf8').trim();
    writeFileSync(file, `# plain\nfrank:f-pw\n${hashedLine}\n gina : g pw \n`);
    const r = await passwd(['-U', file]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('# plain');
    expect(lines[2]).toBe(hashedLine);
    expect(await verifies(file, 'frank', 'f-pw')).toBe(true);
    expect(await verifies(file, 'gina', 'g pw')).toBe(true); // blanks around the password are not part of it, as in Mosquitto
    expect(await verifies(file, 'hashed', 'h-pw')).toBe(true);
  });

  it.each([
    ['-b on a missing file', ['-b', join(dir, 'absent'), 'u', 'p'], /^starling passwd: cannot read .*absent: ENOENT \(-c creates it\)\n$/],
    ['a user name with a colon', ['-c', '-b', join(dir, 'colon'), 'a:b', 'p'], /^starling passwd: user name 'a:b' contains ':'\n$/],
    ['-U on a missing file', ['-U', join(dir, 'absent')], /^starling passwd: cannot read .*absent: ENOENT/],
  ])('refuses %s in one line, exit 1', async (_name, args, message) => {
    const r = await passwd(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it('bad usage names the problem, prints usage and exits 1', async () => {
    const r = await passwd(['-c', '-D', join(dir, 'x'), 'u']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^starling passwd: -U, -D and -b\/-c go alone\nusage: starling passwd/);
    expect((await passwd(['-b', join(dir, 'x'), 'u'])).stderr).toMatch(/^starling passwd: expected FILE USER PASSWORD\n/);
  });
});
