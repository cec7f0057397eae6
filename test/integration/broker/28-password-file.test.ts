// --password-file, black box: a file written by Debian's mosquitto_passwd ($7$ and $6$ users) to
// which `starling passwd` added a user, as a Mosquitto deployment moving to Starling would have it.
// mosquitto_pub/mosquitto_sub log in with -u/-P (their exit code is the CONNACK code); the raw
// client checks the exact codes; SCRAM-SHA-256 works for the Starling line only.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ScramClient } from '../../helpers/scram-client.js';
import { waitFor } from '../../helpers/wait.js';
import { runPasswdCli } from '../../../src/passwd/cli.js';
import type { AuthPacket, ConnackPacket, Packet } from '../../../src/protocol/index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'starling-pwfile-'));
const file = join(dir, 'passwd');
let broker: TestBroker;

beforeAll(async () => {
  // mosq7: mosquitto_passwd's default ($7$, PBKDF2-SHA512); mosq6: its -H sha512 ($6$).
  await run('mosquitto_passwd', ['-c', '-b', file, 'mosq7', 'pw-7']);
  const six = join(dir, 'six');
  await run('mosquitto_passwd', ['-H', 'sha512', '-c', '-b', six, 'mosq6', 'pw-6']);
  writeFileSync(file, `# moved from Mosquitto\n${readFileSync(file, 'utf8')}${readFileSync(six, 'utf8')}`);
  expect(await runPasswdCli(['-b', file, 'star', 'pw-star'])).toBe(0);
  broker = await startTestBroker({ passwordFile: file });
});
afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** mosquitto_pub's exit code: 0, or the CONNACK code that refused it. */
async function mosquittoPub(args: string[]): Promise<number> {
  try {
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...args]);
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

describe('--password-file with mosquitto_pub/mosquitto_sub', () => {
  it.each([
    ['mosq7 ($7$ from mosquitto_passwd)', 'mosq7', 'pw-7'],
    ['mosq6 ($6$ from mosquitto_passwd -H sha512)', 'mosq6', 'pw-6'],
    ['star (written by starling passwd)', 'star', 'pw-star'],
  ])('%s logs in with -u/-P and its message reaches a subscriber logged in as another user', async (_name, user, password) => {
    const topic = `pwfile/${user}`;
    const sub = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(broker.port), '-u', 'star', '-P', 'pw-star', '-d', '-t', topic, '-C', '1', '-F', 'MSG %p']);
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<number>((resolve) => sub.on('close', (code) => resolve(code ?? -1)));
    await waitFor(() => out.includes('received SUBACK'), 'mosquitto_sub SUBACK');
    expect(await mosquittoPub(['-V', 'mqttv311', '-u', user, '-P', password, '-q', '1', '-t', topic, '-m', `from ${user}`])).toBe(0);
    expect(await done).toBe(0);
    expect(out).toContain(`MSG from ${user}`);
    expect(await mosquittoPub(['-V', 'mqttv5', '-u', user, '-P', password, '-t', topic, '-m', 'v5'])).toBe(0);
  });

  it.each(['mosq7', 'mosq6', 'star', 'nobody'])('a wrong password for %s is refused: 3.1.1 CONNACK 4, v5 0x86 (mosquitto_pub exits with the code)', async (user) => {
    expect(await mosquittoPub(['-V', 'mqttv311', '-u', user, '-P', 'wrong', '-t', 't', '-m', 'x'])).toBe(4);
    expect(await mosquittoPub(['-V', 'mqttv5', '-u', user, '-P', 'wrong', '-t', 't', '-m', 'x'])).toBe(0x86);
  });

  it('anonymous clients are refused once there is a password file: 3.1.1 CONNACK 5, v5 0x87', async () => {
    expect(await mosquittoPub(['-V', 'mqttv311', '-t', 't', '-m', 'x'])).toBe(5);
    expect(await mosquittoPub(['-V', 'mqttv5', '-t', 't', '-m', 'x'])).toBe(0x87);
  });

  it('the exact CONNACKs, raw: a right password 0x00, a wrong one 0x04, and a user without a password 0x04', async () => {
    const connect = (clientId: string, extra: Record<string, unknown>): Packet => ({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId, ...extra }) as Packet;
    const good = await RawClient.connected(broker.port, 'pw-good', 4, { username: 'mosq7', password: Buffer.from('pw-7') } as Partial<Packet>);
    good.destroy();
    const bad = await RawClient.open(broker.port);
    bad.send(connect('pw-bad', { username: 'mosq7', password: Buffer.from('pw-6') }));
    expect(await bad.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x04 }]);
    const none = await RawClient.open(broker.port);
    none.send(connect('pw-none', { username: 'mosq7' }));
    expect(await none.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x04 }]);
  });
});

describe('SCRAM-SHA-256 with password-file users', () => {
  const METHOD = 'SCRAM-SHA-256';

  /** CONNECT with SCRAM's client-first, AUTH with client-final; the CONNACK. */
  async function scramConnect(user: string, password: string, clientId: string): Promise<{ connack: ConnackPacket; scram: ScramClient; raw: RawClient }> {
    const raw = await RawClient.open(broker.port, 5);
    const scram = new ScramClient(user, password);
    raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, properties: { authenticationMethod: METHOD, authenticationData: scram.first() } } as Packet);
    const challenge = (await raw.next('auth')) as AuthPacket;
    expect(challenge.reasonCode).toBe(0x18);
    raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: scram.final(challenge.properties?.authenticationData as Buffer) } });
    return { connack: (await raw.next('connack')) as ConnackPacket, scram, raw };
  }

  it('a user written by starling passwd authenticates, and the server proves it knows the key', async () => {
    const { connack, scram, raw } = await scramConnect('star', 'pw-star', 'scram-star');
    expect(connack.reasonCode).toBe(0);
    expect(scram.verifyServer(connack.properties?.authenticationData)).toBe(true);
    raw.destroy();
  });

  it('a wrong password is refused with 0x87', async () => {
    const { connack, raw } = await scramConnect('star', 'pw-7', 'scram-wrong');
    expect(connack.reasonCode).toBe(0x87);
    raw.destroy();
  });

  it('a user with only a Mosquitto hash fails SCRAM like an unknown user (0x87), even with the right password', async () => {
    const { connack, raw } = await scramConnect('mosq7', 'pw-7', 'scram-mosq');
    expect(connack.reasonCode).toBe(0x87);
    raw.destroy();
  });
});
