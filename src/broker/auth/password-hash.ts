// One password hash of a password file: Mosquitto's two formats (read and verified) and
// Starling's own (read, verified and written). The text after "user:" on a line:
//
//   $6$<salt b64>$<b64 SHA-512(password || salt)>                    mosquitto_passwd -H sha512
//   $7$<iterations>$<salt b64>$<b64 PBKDF2-HMAC-SHA-512>             mosquitto_passwd (2.x default)
//   $starling$scrypt$N=<n>,r=<r>,p=<p>$<salt b64>$<b64 scrypt(password, salt)>
//       $scram-sha-256$<iterations>$<salt b64>$<StoredKey b64>$<ServerKey b64>   starling passwd
//
// (Starling's line is one line; it is broken here to fit.) The scrypt part verifies a CONNECT
// password; the SCRAM part (RFC 5802 §3, PBKDF2-HMAC-SHA-256) lets the same user log in with the
// MQTT 5 SCRAM-SHA-256 exchange, which cannot be served from a SHA-512, PBKDF2-SHA-512 or scrypt
// hash. Mosquitto lines have no SCRAM part: those users log in with a password only, until
// `starling passwd` sets their password again. Base64 has no "$" or ":", so "$" splits fields.
//
// Verification runs in libuv's thread pool (crypto.scrypt/pbkdf2 with callbacks), never on the
// event loop, and compares digests with crypto.timingSafeEqual.
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { scramCredentials, type ScramCredentials } from './scram-sha-256.js';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/** scrypt cost of new lines: 2^14, r 8 (16 MiB, ~50 ms per verification). */
export const SCRYPT_DEFAULTS = { N: 16_384, r: 8, p: 1 } as const;
/** Upper bounds of a line's scrypt cost: a hostile or mistyped file must not make every login take minutes. */
const MAX_SCRYPT = { N: 1 << 20, r: 32, p: 16 };
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** SCRAM iterations of new lines (RFC 7677 asks for at least 4096). */
export const SCRAM_FILE_ITERATIONS = 4096;

export type PasswordHash =
  | { kind: 'sha512'; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer }
  | { kind: 'scrypt'; N: number; r: number; p: number; salt: Buffer; hash: Buffer; scram: ScramCredentials | undefined };

/** The hash after "user:", or why it is not one (a message without the line's location). */
export function parseHash(text: string): PasswordHash | string {
  const fields = text.split('$');
  if (fields[0] !== '') return 'not a password hash (plain text? `starling passwd -U FILE` hashes it)';
  if (fields[1] === '6') {
    if (fields.length !== 4) return '$6$ needs $6$<salt>$<hash>';
    const salt = b64(fields[2]);
    const hash = b64(fields[3]);
    if (salt === undefined || hash?.length !== 64) return '$6$: bad base64 salt or hash (64 bytes)';
    return { kind: 'sha512', salt, hash };
  }
  if (fields[1] === '7') {
    if (fields.length !== 5) return '$7$ needs $7$<iterations>$<salt>$<hash>';
    const iterations = positiveInt(fields[2], MAX_PBKDF2_ITERATIONS);
    const salt = b64(fields[3]);
    const hash = b64(fields[4]);
    if (iterations === undefined) return `$7$: bad iteration count '${fields[2]}'`;
    if (salt === undefined || hash?.length !== 64) return '$7$: bad base64 salt or hash (64 bytes)';
    return { kind: 'pbkdf2-sha512', iterations, salt, hash };
  }
  if (fields[1] === 'starling') return parseStarling(fields.slice(2));
  return `unknown hash format '$${fields[1]}$' (known: $6$, $7$ from mosquitto_passwd, $starling$)`;
}

function parseStarling(fields: string[]): PasswordHash | string {
  // scrypt $ params $ salt $ hash [$ scram-sha-256 $ i $ salt $ storedKey $ serverKey]
  if (fields[0] !== 'scrypt' || (fields.length !== 4 && fields.length !== 9)) return '$starling$ needs $starling$scrypt$N=..,r=..,p=..$<salt>$<hash>[$scram-sha-256$<iterations>$<salt>$<StoredKey>$<ServerKey>]';
  const params = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(fields[1]);
  const N = positiveInt(params?.[1], MAX_SCRYPT.N);
  const r = positiveInt(params?.[2], MAX_SCRYPT.r);
  const p = positiveInt(params?.[3], MAX_SCRYPT.p);
  if (N === undefined || r === undefined || p === undefined || (N & (N - 1)) !== 0 || N < 2) return `$starling$scrypt: bad parameters '${fields[1]}' (N a power of 2 up to 2^20, r up to 32, p up to 16)`;
  const salt = b64(fields[2]);
  const hash = b64(fields[3]);
  if (salt === undefined || hash === undefined || hash.length < 16) return '$starling$scrypt: bad base64 salt or hash';
  let scram: ScramCredentials | undefined;
  if (fields.length === 9) {
    if (fields[4] !== 'scram-sha-256') return `$starling$: unknown part '${fields[4]}' (known: scram-sha-256)`;
    const iterations = positiveInt(fields[5], MAX_PBKDF2_ITERATIONS);
    const scramSalt = b64(fields[6]);
    const storedKey = b64(fields[7]);
    const serverKey = b64(fields[8]);
    if (iterations === undefined) return `scram-sha-256: bad iteration count '${fields[5]}'`;
    if (scramSalt === undefined || storedKey?.length !== 32 || serverKey?.length !== 32) return 'scram-sha-256: bad base64 salt, StoredKey or ServerKey (32 bytes each)';
    scram = { salt: scramSalt, iterations, storedKey, serverKey };
  }
  return { kind: 'scrypt', N, r, p, salt, hash, scram };
}

/** Whether password matches, computed off the event loop and compared in constant time. */
export async function verifyPassword(entry: PasswordHash, password: Buffer): Promise<boolean> {
  let computed: Buffer;
  switch (entry.kind) {
    case 'sha512':
      // One SHA-512 of a short input: cheap enough for the event loop (Mosquitto's old format).
      computed = createHash('sha512').update(password).update(entry.salt).digest();
      break;
    case 'pbkdf2-sha512':
      computed = await pbkdf2Async(password, entry.salt, entry.iterations, entry.hash.length, 'sha512');
      break;
    case 'scrypt':
      computed = await scryptAsync(password, entry.salt, entry.hash.length, scryptOptions(entry));
      break;
  }
  return computed.length === entry.hash.length && timingSafeEqual(computed, entry.hash);
}

function scryptOptions(p: { N: number; r: number; p: number }): { N: number; r: number; p: number; maxmem: number } {
  // Node refuses scrypt above maxmem (32 MiB by default): allow what the parameters need.
  return { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * (p.p + 2) + 1024 * 1024 };
}

/** Starling's hash of a password: scrypt for CONNECT and SCRAM-SHA-256 keys for enhanced authentication. */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT_DEFAULTS, scramIterations = SCRAM_FILE_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(Buffer.from(password, 'utf8'), salt, HASH_BYTES, scryptOptions(params));
  const scram = scramCredentials(password, randomBytes(SALT_BYTES), scramIterations);
  return formatHash({ kind: 'scrypt', ...params, salt, hash, scram });
}

export function formatHash(entry: PasswordHash): string {
  switch (entry.kind) {
    case 'sha512':
      return `$6$${entry.salt.toString('base64')}$${entry.hash.toString('base64')}`;
    case 'pbkdf2-sha512':
      return `$7$${entry.iterations}$${entry.salt.toString('base64')}$${entry.hash.toString('base64')}`;
    case 'scrypt': {
      const base = `$starling$scrypt$N=${entry.N},r=${entry.r},p=${entry.p}$${entry.salt.toString('base64')}$${entry.hash.toString('base64')}`;
      const s = entry.scram;
      return s === undefined ? base : `${base}$scram-sha-256$${s.iterations}$${s.salt.toString('base64')}$${s.storedKey.toString('base64')}$${s.serverKey.toString('base64')}`;
    }
  }
}

/** Strict base64 (the standard alphabet, padded or not); undefined when it is not. */
function b64(text: string | undefined): Buffer | undefined {
  if (text === undefined || text === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function positiveInt(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= max ? n : undefined;
}
