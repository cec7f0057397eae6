// SCRAM-SHA-256 (RFC 7677, the SCRAM of RFC 5802 with SHA-256), server side, as an enhanced
// authentication method. Two round trips, the client speaking first:
//
//   client-first  n,,n=<user>,r=<cnonce>                 (CONNECT / AUTH 0x19 Authentication Data)
//   server-first  r=<cnonce+snonce>,s=<salt b64>,i=<n>    (AUTH 0x18)
//   client-final  c=biws,r=<cnonce+snonce>,p=<proof b64>  (AUTH 0x18)
//   server-final  v=<server signature b64>                (CONNACK 0x00 / AUTH 0x00)
//
// The server keeps only StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
// HMAC(SaltedPassword, "Server Key"): the client proves it knows ClientKey (proof = ClientKey XOR
// HMAC(StoredKey, AuthMessage)) and the server proves it knows ServerKey. No channel binding (no
// -PLUS variant: a client asking for it with "p=" is refused), no authorization identity other
// than the user, no SASLprep (names and passwords are compared as given). An unknown user gets a
// server-first like a known one (a salt derived from the name with a per-process secret) and fails
// at the proof, so the exchange does not tell which users exist.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ReasonCode } from '../../protocol/index.js';
import type { AuthContext, AuthStep, EnhancedAuthMethod } from './enhanced-auth.js';

export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/** What the server keeps of one user's password (RFC 5802 §3). */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Where SCRAM finds users; the password file of #13 will be one. undefined: no such user. */
export interface ScramCredentialStore {
  lookup(username: string): ScramCredentials | undefined | Promise<ScramCredentials | undefined>;
}

/** Derives the stored credentials from a password (PBKDF2-HMAC-SHA-256 = SCRAM's Hi()). */
export function scramCredentials(password: string, salt: Buffer = randomBytes(SALT_BYTES), iterations = SCRAM_ITERATIONS): ScramCredentials {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { salt, iterations, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

/** The one user of --username/--password, derived once (a random salt per process). */
export class SingleUserScramStore implements ScramCredentialStore {
  private readonly credentials: ScramCredentials;

  constructor(private readonly username: string, password: string) {
    this.credentials = scramCredentials(password);
  }

  lookup(username: string): ScramCredentials | undefined {
    return username === this.username ? this.credentials : undefined;
  }
}

/** Between server-first and client-final. */
export interface ScramState {
  username: string;
  known: boolean;
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  credentials: ScramCredentials;
}

export interface ScramOptions {
  /** The server's part of the nonce (tests pin it); default 18 random bytes, base64. */
  serverNonce?: () => string;
}

export class ScramSha256 implements EnhancedAuthMethod<ScramState> {
  readonly name = 'SCRAM-SHA-256';
  /** Makes the salts and keys of unknown users: stable for this process, unknowable outside it. */
  private readonly decoySecret = randomBytes(32);
  private readonly serverNonce: () => string;

  constructor(private readonly store: ScramCredentialStore, options: ScramOptions = {}) {
    this.serverNonce = options.serverNonce ?? (() => randomBytes(18).toString('base64'));
  }

  async start(_ctx: AuthContext, data: Buffer | undefined): Promise<AuthStep<ScramState>> {
    if (data === undefined) return fail('SCRAM-SHA-256 needs the client-first message as Authentication Data');
    const first = parseClientFirst(data.toString('utf8'));
    if (typeof first === 'string') return fail(first);
    const found = await this.store.lookup(first.username);
    const credentials = found ?? this.decoy(first.username);
    const nonce = first.clientNonce + this.serverNonce();
    const serverFirst = `r=${nonce},s=${credentials.salt.toString('base64')},i=${credentials.iterations}`;
    const state: ScramState = { username: first.username, known: found !== undefined, gs2Header: first.gs2Header, clientFirstBare: first.bare, serverFirst, nonce, credentials };
    return { kind: 'continue', data: Buffer.from(serverFirst, 'utf8'), state };
  }

  continue(_ctx: AuthContext, state: ScramState, data: Buffer | undefined): AuthStep<ScramState> {
    if (data === undefined) return fail('SCRAM-SHA-256 needs the client-final message as Authentication Data');
    const text = data.toString('utf8');
    const at = text.lastIndexOf(',p=');
    if (at === -1) return fail('client-final without a proof');
    const withoutProof = text.slice(0, at);
    const attributes = withoutProof.split(',');
    if (attributes[0] !== `c=${Buffer.from(state.gs2Header, 'utf8').toString('base64')}`) return fail('client-final: channel binding data differs from the gs2 header');
    if (attributes[1] !== `r=${state.nonce}`) return fail('client-final: nonce differs');
    const proof = Buffer.from(text.slice(at + 3), 'base64');
    const { storedKey, serverKey } = state.credentials;
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
    if (proof.length !== storedKey.length) return fail('client-final: proof of the wrong length');
    const signature = hmac(storedKey, authMessage);
    for (let i = 0; i < proof.length; i++) proof[i] ^= signature[i];
    // proof is now ClientKey; H(ClientKey) must be StoredKey (a constant-time comparison).
    const ok = timingSafeEqual(sha256(proof), storedKey) && state.known;
    if (!ok) return fail('SCRAM-SHA-256: wrong password or unknown user');
    return { kind: 'success', data: Buffer.from(`v=${hmac(serverKey, authMessage).toString('base64')}`, 'utf8'), username: state.username };
  }

  /** Credentials for a user who does not exist: the same shape, the same for every attempt. */
  private decoy(username: string): ScramCredentials {
    const key = createHmac('sha256', this.decoySecret).update(username, 'utf8').digest();
    return { salt: hmac(key, 'salt').subarray(0, SALT_BYTES), iterations: SCRAM_ITERATIONS, storedKey: hmac(key, 'stored'), serverKey: hmac(key, 'server') };
  }
}

interface ClientFirst {
  gs2Header: string;
  bare: string;
  username: string;
  clientNonce: string;
}

/** gs2-header client-first-bare (RFC 5802 §7), or why it is refused. */
export function parseClientFirst(text: string): ClientFirst | string {
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  const comma1 = text.indexOf(',');
  const comma2 = comma1 === -1 ? -1 : text.indexOf(',', comma1 + 1);
  if (comma2 === -1) return 'client-first: no gs2 header';
  const flag = text.slice(0, comma1);
  // "y": the client could bind but believes we cannot (we cannot): fine. "p=…": refused, no -PLUS here.
  if (flag.startsWith('p=')) return 'client-first: channel binding is not supported (no SCRAM-SHA-256-PLUS)';
  if (flag !== 'n' && flag !== 'y') return 'client-first: bad gs2-cbind-flag';
  const authzid = text.slice(comma1 + 1, comma2);
  const bare = text.slice(comma2 + 1);
  const attributes = bare.split(',');
  if (attributes[0]?.startsWith('m=')) return 'client-first: mandatory extension not supported';
  if (!attributes[0]?.startsWith('n=')) return 'client-first: no user name';
  const username = decodeSaslName(attributes[0].slice(2));
  if (username === undefined || username === '') return 'client-first: bad user name';
  if (authzid !== '') {
    const authz = authzid.startsWith('a=') ? decodeSaslName(authzid.slice(2)) : undefined;
    // Acting as another user is not offered.
    if (authz !== username) return 'client-first: authorization identity differs from the user';
  }
  const nonce = attributes[1];
  // r= printable ASCII but ","; at least one character.
  if (nonce === undefined || !/^r=[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) return 'client-first: bad nonce';
  return { gs2Header: text.slice(0, comma2 + 1), bare, username, clientNonce: nonce.slice(2) };
}

/** saslname: "=2C" is ",", "=3D" is "=", any other "=" is invalid (undefined). */
export function decodeSaslName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function fail(reason: string): AuthStep<ScramState> {
  return { kind: 'fail', reasonCode: ReasonCode.NotAuthorized, reason };
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}
