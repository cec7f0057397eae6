// Failed logins, black box: repeated failures from one address get their refusing CONNACK later and
// later (--auth-fail-delay, doubling up to --auth-fail-max-delay, after 3 free failures), nobody
// else waits, and the log says it once per address per interval. Real sockets: the raw client for
// exact codes and timing, mqtt.js for an ordinary client; a second "host" is 127.0.0.2 (Linux
// routes all of 127/8 to loopback). Timing is asserted only as lower bounds (a loaded machine is
// slow, never fast); "not delayed" is asserted as an order of arrival.
//
// Each test fails on one change:
// - "3.1.1 refusals are held": FailedLogins.refuse answers at once (no hold), or the throttle does
//   not double;
// - "v5 0x86 is held": the same, for v5;
// - "SCRAM failures count": handlers/auth.ts throws a plain MqttError again (not counted);
// - "nobody else waits": the hold blocks the event loop or a shared queue (a good login from the
//   same address, an mqtt.js client, or another address' first failure would come after it), or
//   the count is shared by all addresses;
// - "a success does not reset": a successful login clears the address' count;
// - "half-close": the hold ignores the socket's 'end' (the refusal would reach a client that
//   half-closed, letting it skip the delay);
// - "reset during the delay": the hold ignores 'close' (the connection and its timer would stay
//   until the delay ends);
// - "the log": every failure gets its own line, the line lacks the count or the last attempt, lines
//   of one address come closer than the interval, or a password reaches the log.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBroker, type BrokerConfig } from '../../../src/index.js';
import { testDefaults, connectClient } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ScramClient } from '../../helpers/scram-client.js';
import { waitFor } from '../../helpers/wait.js';
import type { AuthPacket, ConnackPacket, Packet, ProtocolVersion } from '../../../src/protocol/index.js';

const USER = 'alice';
const PASSWORD = 's3cret';
/** setTimeout may fire a millisecond or so before Date/performance say the time has come. */
const EARLY_MS = 15;

interface Running {
  port: number;
  connections(): number;
  /** Refusals the broker holds now (in-process: the one look inside, to know a hold has begun and ended). */
  holding(): number;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const running: Running[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

/** A broker with one user, its log captured as parsed JSON lines. */
async function start(overrides: Partial<BrokerConfig>): Promise<Running> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const b = await startBroker({ ...testDefaults, username: USER, password: PASSWORD, ...overrides }, undefined, { logger: pino({ level: 'info' }, sink) });
  const r: Running = { port: b.port, connections: () => b.broker.connectionCount, holding: () => b.broker.failedLogins.holding, logs, close: () => b.close() };
  running.push(r);
  return r;
}

async function open(port: number, version: ProtocolVersion, localAddress?: string): Promise<RawClient> {
  const raw = await RawClient.open(port, version, localAddress);
  raws.push(raw);
  return raw;
}

function connect(version: ProtocolVersion, clientId: string, password: string): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, username: USER, password: Buffer.from(password) } as Packet;
}

/** One login on a new connection: its CONNACK code and how long it took to come, ms. */
async function login(port: number, version: ProtocolVersion, password: string, localAddress?: string): Promise<{ code: number; ms: number; raw: RawClient }> {
  const raw = await open(port, version, localAddress);
  const sent = performance.now();
  raw.send(connect(version, `lt-${raws.length}`, password));
  const connack = (await raw.next('connack', 20_000)) as ConnackPacket;
  return { code: connack.reasonCode ?? -1, ms: performance.now() - sent, raw };
}

/** Sends a failing CONNECT, its answer left unread. */
async function pendingFailure(port: number): Promise<RawClient> {
  const raw = await open(port, 4);
  raw.send(connect(4, `lt-held-${raws.length}`, 'wrong'));
  return raw;
}

describe('failed logins are slowed down per address', () => {
  it('3.1.1 refusals are held: 3 free failures, then the delay, doubling (return code 4)', async () => {
    const b = await start({ authFailDelayMs: 300, authFailMaxDelayMs: 1000 });
    for (let i = 0; i < 3; i++) expect((await login(b.port, 4, 'wrong')).code).toBe(4);
    const fourth = await login(b.port, 4, 'wrong');
    expect(fourth.code).toBe(4);
    expect(fourth.ms).toBeGreaterThanOrEqual(300 - EARLY_MS);
    const fifth = await login(b.port, 4, 'wrong');
    expect(fifth.ms).toBeGreaterThanOrEqual(600 - EARLY_MS);
    await fifth.raw.waitClosed();
  });

  it('v5 0x86 is held the same way', async () => {
    const b = await start({ authFailDelayMs: 400, authFailMaxDelayMs: 400 });
    for (let i = 0; i < 3; i++) expect((await login(b.port, 5, 'wrong')).code).toBe(0x86);
    const fourth = await login(b.port, 5, 'wrong');
    expect(fourth.code).toBe(0x86);
    expect(fourth.ms).toBeGreaterThanOrEqual(400 - EARLY_MS);
  });

  it('SCRAM failures count as failed logins: the 4th CONNACK 0x87 is held', async () => {
    const b = await start({ authFailDelayMs: 400, authFailMaxDelayMs: 400, connectTimeoutMs: 5000 });
    const scramFailure = async (): Promise<{ code: number; ms: number }> => {
      const raw = await open(b.port, 5);
      const scram = new ScramClient(USER, 'wrong');
      raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'lt-scram', properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: scram.first() } } as Packet);
      const challenge = (await raw.next('auth')) as AuthPacket;
      const sent = performance.now();
      raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: scram.final(challenge.properties?.authenticationData as Buffer) } });
      const connack = (await raw.next('connack', 20_000)) as ConnackPacket;
      return { code: connack.reasonCode ?? -1, ms: performance.now() - sent };
    };
    for (let i = 0; i < 3; i++) expect((await scramFailure()).code).toBe(0x87);
    const fourth = await scramFailure();
    expect(fourth.code).toBe(0x87);
    expect(fourth.ms).toBeGreaterThanOrEqual(400 - EARLY_MS);
  });

  it('nobody else waits: a good login from the same address, an mqtt.js client and another address are answered while a refusal is held', async () => {
    const b = await start({ authFailDelayMs: 3000, authFailMaxDelayMs: 3000 });
    for (let i = 0; i < 3; i++) await login(b.port, 4, 'wrong');
    const held = await pendingFailure(b.port);
    await waitFor(() => b.holding() === 1, 'the refusal held');
    // Each of these is answered before the held refusal is.
    expect((await login(b.port, 4, PASSWORD)).code).toBe(0);
    const client = await connectClient(`mqtt://127.0.0.1:${b.port}`, { username: USER, password: PASSWORD, clientId: 'lt-mqttjs' });
    expect((await login(b.port, 5, 'wrong', '127.0.0.2')).code).toBe(0x86); // its first failure: free
    expect(held.packets).toEqual([]);
    await client.endAsync();
    expect(((await held.next('connack', 20_000)) as ConnackPacket).reasonCode).toBe(4);
  });

  it('a success does not reset the count: the next failure waits longer still', async () => {
    const b = await start({ authFailDelayMs: 300, authFailMaxDelayMs: 2000 });
    for (let i = 0; i < 4; i++) await login(b.port, 4, 'wrong');
    expect((await login(b.port, 4, PASSWORD)).code).toBe(0);
    const sixth = await login(b.port, 4, 'wrong'); // 5th failure: 2 × 300
    expect(sixth.code).toBe(4);
    expect(sixth.ms).toBeGreaterThanOrEqual(600 - EARLY_MS);
  });

  it('half-close during the delay: closed at once, without the refusal', async () => {
    const b = await start({ authFailDelayMs: 5000, authFailMaxDelayMs: 5000 });
    for (let i = 0; i < 3; i++) await login(b.port, 4, 'wrong');
    const held = await pendingFailure(b.port);
    await waitFor(() => b.holding() === 1, 'the refusal held');
    held.socket.end(); // FIN: the client could still read an answer
    expect(await held.packetsBeforeClose(4000)).toEqual([]);
    await waitFor(() => b.connections() === 0 && b.holding() === 0, 'the connection and its hold gone', 4000);
  });

  it('reset during the delay: the connection and its hold end at once', async () => {
    const b = await start({ authFailDelayMs: 8000, authFailMaxDelayMs: 8000 });
    for (let i = 0; i < 3; i++) await login(b.port, 4, 'wrong');
    const held = await pendingFailure(b.port);
    await waitFor(() => b.holding() === 1, 'the refusal held');
    held.socket.resetAndDestroy(); // RST: 'close' without 'end'
    // Well before the 8 s delay ends: the connection and the hold's timer are gone.
    await waitFor(() => b.connections() === 0 && b.holding() === 0, 'the connection and its hold gone', 4000);
    // The broker still answers, at once, a good login.
    expect((await login(b.port, 4, PASSWORD)).code).toBe(0);
  });

  it('the log: the first failure of an address at once, then one line per interval with the count and the last attempt', async () => {
    const b = await start({ authFailDelayMs: 0, authFailLogIntervalMs: 1000 });
    const failures = (): Array<Record<string, unknown>> => b.logs.filter((l) => l.msg === 'failed login');
    for (let i = 0; i < 6; i++) expect((await login(b.port, 4, `wrong-${i}`)).code).toBe(4);
    expect((await login(b.port, 4, 'wrong-other', '127.0.0.2')).code).toBe(4);
    // One line each at once: 127.0.0.1's five further failures are folded.
    expect(failures()).toMatchObject([
      { level: 40, remote: '127.0.0.1', failures: 1, username: USER },
      { level: 40, remote: '127.0.0.2', failures: 1 },
    ]);
    await waitFor(() => failures().length >= 3, 'the interval line', 5000);
    const [first, , folded] = failures();
    expect(folded).toMatchObject({ remote: '127.0.0.1', failures: 5, clientId: expect.stringMatching(/^lt-/), username: USER });
    expect((folded.time as number) - (first.time as number)).toBeGreaterThanOrEqual(1000 - EARLY_MS);
    expect(JSON.stringify(b.logs)).not.toContain('wrong-');
  });
});
