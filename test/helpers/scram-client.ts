// The client side of SCRAM-SHA-256 (RFC 5802/7677), written apart from the broker's server side
// (straight from the RFC's formulas, with node:crypto) so the tests check one against the other.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export class ScramClient {
  readonly clientNonce: string;
  private clientFirstBare = '';
  private authMessage = '';
  private saltedPassword: Buffer | null = null;

  constructor(readonly username: string, readonly password: string, clientNonce?: string) {
    this.clientNonce = clientNonce ?? randomBytes(18).toString('base64');
  }

  /** client-first: gs2 header "n,," then n=<saslname>,r=<nonce>. */
  first(): Buffer {
    const saslName = this.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.clientFirstBare = `n=${saslName},r=${this.clientNonce}`;
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  /** client-final for the server-first given; throws if the server's nonce does not extend ours. */
  final(serverFirst: Buffer, password = this.password): Buffer {
    const text = serverFirst.toString();
    const attrs = Object.fromEntries(text.split(',').map((a) => [a.slice(0, 1), a.slice(2)]));
    if (!attrs.r.startsWith(this.clientNonce) || attrs.r.length <= this.clientNonce.length) throw new Error(`server nonce ${attrs.r} does not extend ours`);
    const salted = pbkdf2Sync(password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
    this.saltedPassword = salted;
    const withoutProof = `c=biws,r=${attrs.r}`;
    this.authMessage = `${this.clientFirstBare},${text},${withoutProof}`;
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const signature = hmac(storedKey, this.authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** Whether server-final proves the server knows our password's ServerKey. */
  verifyServer(serverFinal: Buffer | undefined): boolean {
    if (serverFinal === undefined || this.saltedPassword === null) return false;
    const text = serverFinal.toString();
    if (!text.startsWith('v=')) return false;
    const expected = hmac(hmac(this.saltedPassword, 'Server Key'), this.authMessage);
    const got = Buffer.from(text.slice(2), 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}
