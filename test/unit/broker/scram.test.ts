// SCRAM-SHA-256 server side (broker/auth/scram-sha-256.ts): the RFC 7677 §3 example byte for byte,
// then the refusals (wrong proof, unknown user, channel binding, bad messages) and saslname escaping.
import { describe, expect, it } from 'vitest';
import { decodeSaslName, parseClientFirst, ScramSha256, scramCredentials, SingleUserScramStore, type ScramState } from '../../../src/broker/auth/scram-sha-256.js';
import type { AuthContext, AuthStep } from '../../../src/broker/auth/enhanced-auth.js';
import { ScramClient } from '../../helpers/scram-client.js';

// RFC 7677 §3: user "user", password "pencil".
const RFC = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const ctx: AuthContext = { clientId: 'c', address: '127.0.0.1', reauthentication: false, username: undefined };

function rfcMethod(): ScramSha256 {
  const credentials = scramCredentials('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  return new ScramSha256({ lookup: (u) => (u === 'user' ? credentials : undefined) }, { serverNonce: () => RFC.serverNonce });
}

function continued(step: AuthStep<ScramState>): { data: string; state: ScramState } {
  if (step.kind !== 'continue') throw new Error(`expected continue, got ${JSON.stringify(step)}`);
  return { data: step.data?.toString() ?? '', state: step.state };
}

describe('SCRAM-SHA-256 against the RFC 7677 §3 example', () => {
  it('answers the example client-first with the example server-first, byte for byte', async () => {
    const first = continued(await rfcMethod().start(ctx, Buffer.from(RFC.clientFirst)));
    expect(first.data).toBe(RFC.serverFirst);
  });

  it("accepts the example's proof and answers the example's server signature", async () => {
    const method = rfcMethod();
    const { state } = continued(await method.start(ctx, Buffer.from(RFC.clientFirst)));
    const final = method.continue(ctx, state, Buffer.from(RFC.clientFinal));
    expect(final).toEqual({ kind: 'success', data: Buffer.from(RFC.serverFinal), username: 'user' });
  });

  it('refuses the example exchange when one bit of the proof is flipped (0x87)', async () => {
    const method = rfcMethod();
    const { state } = continued(await method.start(ctx, Buffer.from(RFC.clientFirst)));
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    proof[5] ^= 1;
    const tampered = `c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=${proof.toString('base64')}`;
    const final = method.continue(ctx, state, Buffer.from(tampered));
    expect(final.kind).toBe('fail');
    expect(final.kind === 'fail' && final.reasonCode).toBe(0x87);
  });
});

describe('SCRAM-SHA-256 exchanges with an independent client', () => {
  const method = new ScramSha256(new SingleUserScramStore('alice', 's3cret'));

  async function exchange(user: string, password: string): Promise<AuthStep<ScramState>> {
    const client = new ScramClient(user, password);
    const { data, state } = continued(await method.start(ctx, client.first()));
    const final = method.continue(ctx, state, client.final(Buffer.from(data)));
    if (final.kind === 'success') expect(client.verifyServer(final.data)).toBe(true);
    return final;
  }

  it('succeeds with the right password, and the client verifies the server signature', async () => {
    expect((await exchange('alice', 's3cret')).kind).toBe('success');
  });

  it('fails with a wrong password', async () => {
    expect(await exchange('alice', 'wrong')).toMatchObject({ kind: 'fail', reasonCode: 0x87 });
  });

  it('fails an unknown user only at the proof, after a server-first shaped like a real one', async () => {
    const known = continued(await method.start(ctx, new ScramClient('alice', 'x').first())).data;
    const unknown = continued(await method.start(ctx, new ScramClient('mallory', 'x').first())).data;
    const shape = /^r=[^,]+,s=([A-Za-z0-9+/]+=*),i=4096$/;
    expect(known).toMatch(shape);
    expect(unknown).toMatch(shape);
    const salt = (s: string): Buffer => Buffer.from(shape.exec(s)?.[1] ?? '', 'base64');
    expect(salt(unknown)).toHaveLength(salt(known).length);
    expect(await exchange('mallory', 's3cret')).toMatchObject({ kind: 'fail', reasonCode: 0x87 });
  });

  it("gives an unknown user the same salt every time (a random one would tell it apart from a real user's)", async () => {
    const salts = new Set<string>();
    for (const user of ['mallory', 'mallory', 'alice', 'alice']) {
      salts.add(user + continued(await method.start(ctx, new ScramClient(user, 'x').first())).data.split(',')[1]);
    }
    expect(salts.size).toBe(2);
  });

  it('a fresh server nonce per exchange that extends the client nonce', async () => {
    const client = new ScramClient('alice', 's3cret');
    const a = continued(await method.start(ctx, client.first())).data;
    const b = continued(await method.start(ctx, client.first())).data;
    expect(a.startsWith(`r=${client.clientNonce}`)).toBe(true);
    expect(a.split(',')[0]).not.toBe(b.split(',')[0]);
  });

  it('refuses a client-final whose nonce is not the combined one', async () => {
    const client = new ScramClient('alice', 's3cret');
    const { data, state } = continued(await method.start(ctx, client.first()));
    const forged = Buffer.from(data.replace(/^r=([^,]+)/, 'r=$1X'));
    const final = method.continue(ctx, state, client.final(forged));
    expect(final).toMatchObject({ kind: 'fail', reasonCode: 0x87 });
  });

  it('refuses a client-final whose channel binding is not the gs2 header (c=biws)', async () => {
    const client = new ScramClient('alice', 's3cret');
    const { data, state } = continued(await method.start(ctx, client.first()));
    const final = client.final(Buffer.from(data)).toString().replace('c=biws', 'c=eSws');
    expect(method.continue(ctx, state, Buffer.from(final))).toMatchObject({ kind: 'fail' });
  });
});

describe('SCRAM client-first parsing', () => {
  it('refuses channel binding (p=…): there is no SCRAM-SHA-256-PLUS here', async () => {
    expect(parseClientFirst('p=tls-unique,,n=user,r=abc')).toMatch(/channel binding/);
    const method = rfcMethod();
    expect(await method.start(ctx, Buffer.from('p=tls-server-end-point,,n=user,r=abc'))).toMatchObject({ kind: 'fail', reasonCode: 0x87 });
  });

  it('accepts "y" (client could bind, thinks the server cannot) and an authzid equal to the user', () => {
    expect(parseClientFirst('y,,n=user,r=abc')).toMatchObject({ username: 'user', gs2Header: 'y,,' });
    expect(parseClientFirst('n,a=user,n=user,r=abc')).toMatchObject({ username: 'user', gs2Header: 'n,a=user,' });
    expect(parseClientFirst('n,a=admin,n=user,r=abc')).toMatch(/authorization identity/);
  });

  it('refuses malformed messages: no gs2 header, mandatory extension, no user, bad nonce', () => {
    expect(parseClientFirst('n=user,r=abc')).toMatch(/gs2/);
    expect(parseClientFirst('x,,n=user,r=abc')).toMatch(/gs2-cbind-flag/);
    expect(parseClientFirst('n,,m=ext,n=user,r=abc')).toMatch(/mandatory extension/);
    expect(parseClientFirst('n,,r=abc')).toMatch(/user name/);
    expect(parseClientFirst('n,,n=user')).toMatch(/nonce/);
    expect(parseClientFirst('n,,n=user,r=')).toMatch(/nonce/);
  });

  it('decodes saslname escapes =2C and =3D and refuses any other "="', () => {
    expect(decodeSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(decodeSaslName('a=2cb')).toBeUndefined();
    expect(decodeSaslName('a=b')).toBeUndefined();
    expect(parseClientFirst('n,,n=we=2Cird=3Dname,r=abc')).toMatchObject({ username: 'we,ird=name' });
  });

  it('an escaped user name authenticates end to end', async () => {
    const method = new ScramSha256(new SingleUserScramStore('we,ird=name', 'pw'));
    const client = new ScramClient('we,ird=name', 'pw');
    const { data, state } = continued(await method.start(ctx, client.first()));
    expect(method.continue(ctx, state, client.final(Buffer.from(data)))).toMatchObject({ kind: 'success', username: 'we,ird=name' });
  });

  it('fails without Authentication Data at either step', async () => {
    const method = rfcMethod();
    expect(await method.start(ctx, undefined)).toMatchObject({ kind: 'fail', reasonCode: 0x87 });
    const { state } = continued(await method.start(ctx, Buffer.from(RFC.clientFirst)));
    expect(method.continue(ctx, state, undefined)).toMatchObject({ kind: 'fail', reasonCode: 0x87 });
  });
});
