// A method of one's own in Broker.authMethods (how the authorization issue's hooks will plug in):
// several rounds, async steps, what the method is told (AuthContext), and how its failures become
// CONNACK / DISCONNECT codes. In-process only (it uses the Broker object), so not under broker/,
// whose files also run against a cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { silentLogger } from '../../src/log.js';
import type { AuthContext, AuthStep, EnhancedAuthMethod } from '../../src/broker/auth/enhanced-auth.js';
import { RawClient } from '../helpers/raw-client.js';
import type { AuthPacket, ConnackPacket, DisconnectPacket, Packet } from '../../src/protocol/index.js';

/**
 * "TEST-CHALLENGE": start data "<user>" → challenge "c1" → answer "a1" → challenge "c2" → answer
 * "a2" → success as <user>, final data "welcome". Start data "fail:<code>" fails with that code,
 * "throw" throws. Every step waits a little (an async hook).
 */
class ChallengeMethod implements EnhancedAuthMethod<{ user: string; round: number }> {
  readonly name = 'TEST-CHALLENGE';
  readonly seen: AuthContext[] = [];

  async start(ctx: AuthContext, data: Buffer | undefined): Promise<AuthStep<{ user: string; round: number }>> {
    this.seen.push(ctx);
    await new Promise((r) => setTimeout(r, 5));
    const text = data?.toString() ?? '';
    if (text === 'throw') throw new Error('hook failed');
    if (text.startsWith('fail:')) return { kind: 'fail', reasonCode: Number(text.slice(5)), reason: 'asked to fail' };
    return { kind: 'continue', data: Buffer.from('c1'), state: { user: text, round: 1 } };
  }

  async continue(_ctx: AuthContext, state: { user: string; round: number }, data: Buffer | undefined): Promise<AuthStep<{ user: string; round: number }>> {
    await new Promise((r) => setTimeout(r, 5));
    if (data?.toString() !== `a${state.round}`) return { kind: 'fail', reasonCode: 0x87 };
    if (state.round === 1) return { kind: 'continue', data: Buffer.from('c2'), state: { user: state.user, round: 2 } };
    return { kind: 'success', data: Buffer.from('welcome'), username: state.user };
  }
}

const METHOD = 'TEST-CHALLENGE';
let running: RunningBroker;
const method = new ChallengeMethod();
const raws: RawClient[] = [];

beforeAll(async () => {
  running = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', connectTimeoutMs: 2000, sysInterval: 0 }, undefined, { logger: silentLogger() });
  running.broker.authMethods.set(METHOD, method);
});
afterAll(async () => {
  for (const raw of raws) raw.destroy();
  await running.close();
});

function auth(reasonCode: number, data?: string): Packet {
  return { cmd: 'auth', reasonCode, properties: data === undefined ? { authenticationMethod: METHOD } : { authenticationMethod: METHOD, authenticationData: Buffer.from(data) } };
}

async function connectWith(clientId: string, data: string, username?: string): Promise<RawClient> {
  const raw = await RawClient.open(running.port, 5);
  raws.push(raw);
  raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, username, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(data) } } as Packet);
  return raw;
}

/** Answers c1 and c2; returns the CONNACK. */
async function completeRounds(raw: RawClient): Promise<ConnackPacket> {
  for (const round of [1, 2]) {
    expect(await raw.next('auth')).toMatchObject({ reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`c${round}`) } });
    raw.send(auth(0x18, `a${round}`));
  }
  return (await raw.next('connack')) as ConnackPacket;
}

describe('a custom method in Broker.authMethods', () => {
  it('runs two rounds of async steps and ends in CONNACK 0x00 with the final data and the method', async () => {
    const raw = await connectWith('cm-ok', 'bob', 'bob-from-connect');
    const connack = await completeRounds(raw);
    expect(connack).toMatchObject({ reasonCode: 0, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('welcome') } });
    expect(method.seen.at(-1)).toMatchObject({ clientId: 'cm-ok', reauthentication: false, username: 'bob-from-connect' });
    expect(method.seen.at(-1)?.address).toMatch(/127\.0\.0\.1/);
  });

  it('is told the client id the server assigned to an empty one', async () => {
    const raw = await connectWith('', 'bob');
    const connack = await completeRounds(raw);
    expect(connack.reasonCode).toBe(0);
    expect(method.seen.at(-1)?.clientId).toBe(connack.properties?.assignedClientIdentifier);
  });

  it('a failure code a CONNACK may carry is passed on (0x86); one it may not becomes 0x87', async () => {
    const a = await connectWith('cm-86', 'fail:134');
    expect(((await a.next('connack')) as ConnackPacket).reasonCode).toBe(0x86);
    await a.waitClosed();
    const b = await connectWith('cm-93', 'fail:147'); // 0x93 Receive Maximum exceeded: no CONNACK code
    expect(((await b.next('connack')) as ConnackPacket).reasonCode).toBe(0x87);
    await b.waitClosed();
  });

  it('a method that throws gets CONNACK 0x83 (implementation specific error)', async () => {
    const raw = await connectWith('cm-throw', 'throw');
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x83);
    await raw.waitClosed();
  });

  it('re-authentication runs the same rounds, is told it is one (with the identity so far), and ends in AUTH 0x00', async () => {
    const raw = await connectWith('cm-re', 'carol');
    expect((await completeRounds(raw)).reasonCode).toBe(0);
    raw.send(auth(0x19, 'carol'));
    for (const round of [1, 2]) {
      expect(await raw.next('auth')).toMatchObject({ reasonCode: 0x18, properties: { authenticationData: Buffer.from(`c${round}`) } });
      raw.send(auth(0x18, `a${round}`));
    }
    expect(await raw.next('auth')).toMatchObject({ reasonCode: 0x00, properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('welcome') } });
    expect(method.seen.at(-1)).toMatchObject({ clientId: 'cm-re', reauthentication: true, username: 'carol' });
  });

  it('re-authentication as another identity is refused: DISCONNECT 0x87', async () => {
    const raw = await connectWith('cm-switch', 'carol');
    expect((await completeRounds(raw)).reasonCode).toBe(0);
    raw.send(auth(0x19, 'mallory'));
    for (const round of [1, 2]) {
      await raw.next('auth');
      raw.send(auth(0x18, `a${round}`));
    }
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x87);
    await raw.waitClosed();
  });

  it('a re-authentication failure code a DISCONNECT may not carry (0x86) becomes 0x87; one it may (0x98) is passed on', async () => {
    const a = await connectWith('cm-re86', 'dave');
    expect((await completeRounds(a)).reasonCode).toBe(0);
    a.send(auth(0x19, 'fail:134'));
    expect(((await a.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x87);
    await a.waitClosed();
    const b = await connectWith('cm-re98', 'dave');
    expect((await completeRounds(b)).reasonCode).toBe(0);
    b.send(auth(0x19, 'fail:152')); // 0x98 Administrative action
    expect(((await b.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x98);
    await b.waitClosed();
  });

  it('a wrong answer in the middle fails the CONNECT with the code the method gives (0x87)', async () => {
    const raw = await connectWith('cm-wrong', 'erin');
    expect((await raw.next('auth')) as AuthPacket).toMatchObject({ reasonCode: 0x18 });
    raw.send(auth(0x18, 'nope'));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x87);
    await raw.waitClosed();
  });
});
