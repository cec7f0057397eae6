// MQTT 5 enhanced authentication (5.0 §4.12) with the built-in SCRAM-SHA-256, black box: the raw
// client speaks the exchange packet by packet (its SCRAM side computed in test/helpers/scram-client.ts),
// mqtt.js speaks it through its handleAuth hook. The broker's one user comes from --username/--password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ScramClient } from '../../helpers/scram-client.js';
import type { EventEmitter } from 'node:events';
import { onceWithin } from '../../helpers/wait.js';
import { encode, type AuthPacket, type ConnackPacket, type DisconnectPacket, type Packet, type Properties, type PublishPacket } from '../../../src/protocol/index.js';

const USER = 'alice';
const PASSWORD = 's3cret';
const METHOD = 'SCRAM-SHA-256';

let broker: TestBroker;
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
beforeAll(async () => {
  // A connect timeout with room for an exchange on a loaded machine; the timeouts themselves are
  // tested on a broker of their own (below).
  broker = await startTestBroker({ username: USER, password: PASSWORD, connectTimeoutMs: 3000 });
});
afterAll(async () => {
  for (const raw of raws) raw.destroy();
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

function connect5(clientId: string, properties: Properties, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, properties, ...extra } as Packet;
}

function auth(reasonCode: number, data?: Buffer, method = METHOD): Packet {
  return { cmd: 'auth', reasonCode, properties: data === undefined ? { authenticationMethod: method } : { authenticationMethod: method, authenticationData: data } };
}

async function open(port = broker.port): Promise<RawClient> {
  const raw = await RawClient.open(port, 5);
  raws.push(raw);
  return raw;
}

/** CONNECT with client-first; returns the server's AUTH 0x18 (server-first), checked. */
async function startExchange(raw: RawClient, scram: ScramClient, clientId: string, extra: Record<string, unknown> = {}): Promise<AuthPacket> {
  raw.send(connect5(clientId, { authenticationMethod: METHOD, authenticationData: scram.first() }, extra));
  const challenge = (await raw.next('auth')) as AuthPacket;
  expect(challenge.reasonCode).toBe(0x18);
  expect(challenge.properties?.authenticationMethod).toBe(METHOD); // [MQTT-4.12.0-5]
  return challenge;
}

/** A raw v5 client authenticated with SCRAM at CONNECT. */
async function scramConnected(clientId: string, extra: Record<string, unknown> = {}, port = broker.port): Promise<{ raw: RawClient; connack: ConnackPacket }> {
  const raw = await open(port);
  const scram = new ScramClient(USER, PASSWORD);
  const challenge = await startExchange(raw, scram, clientId, extra);
  raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer)));
  const connack = (await raw.next('connack')) as ConnackPacket;
  expect(connack.reasonCode).toBe(0);
  expect(scram.verifyServer(connack.properties?.authenticationData)).toBe(true);
  return { raw, connack };
}

/** Nothing more arrives and the server closes the connection. */
async function expectClosedWithout(raw: RawClient, cmd: Packet['cmd']): Promise<void> {
  await raw.waitClosed();
  expect(raw.packets.filter((p) => p.cmd === cmd)).toEqual([]);
}

describe('SCRAM-SHA-256 at CONNECT (raw client)', () => {
  it('CONNECT → AUTH 0x18 (server-first) → AUTH 0x18 (client-final) → CONNACK 0x00 with the method and a server signature the client verifies [MQTT-4.12.0-2, MQTT-4.12.0-5]', async () => {
    const { raw, connack } = await scramConnected('ea-ok');
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    // The connection works: a subscription and a message to itself.
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ea/ok', qos: 1 }] });
    expect((await raw.next('suback')).cmd).toBe('suback');
    raw.send({ cmd: 'publish', topic: 'ea/ok', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false } as Packet);
    expect(((await raw.next('publish')) as PublishPacket).payload.toString()).toBe('hi');
  });

  it('a wrong password gets CONNACK 0x87 after the proof, and the connection is closed [MQTT-4.12.0-4]', async () => {
    const raw = await open();
    const scram = new ScramClient(USER, 'wrong');
    const challenge = await startExchange(raw, scram, 'ea-wrong');
    raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer)));
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.reasonCode).toBe(0x87);
    expect(connack.properties?.authenticationData).toBeUndefined();
    await raw.waitClosed();
  });

  it('an unknown user gets a server-first like a known user, then CONNACK 0x87 at the proof', async () => {
    const known = await startExchange(await open(), new ScramClient(USER, 'x'), 'ea-known');
    const raw = await open();
    const scram = new ScramClient('mallory', PASSWORD);
    const challenge = await startExchange(raw, scram, 'ea-unknown');
    const shape = /^r=[^,]+,s=[A-Za-z0-9+/]+=*,i=4096$/;
    const salt = (p: AuthPacket): number => Buffer.from(/s=([^,]+)/.exec(p.properties?.authenticationData?.toString() ?? '')?.[1] ?? '', 'base64').length;
    expect(challenge.properties?.authenticationData?.toString()).toMatch(shape);
    expect(known.properties?.authenticationData?.toString()).toMatch(shape);
    expect(salt(challenge)).toBe(salt(known));
    raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer)));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x87);
    await raw.waitClosed();
  });

  it('a client-first asking for channel binding (p=) is refused with CONNACK 0x87, without a challenge', async () => {
    const raw = await open();
    raw.send(connect5('ea-cb', { authenticationMethod: METHOD, authenticationData: Buffer.from('p=tls-unique,,n=alice,r=abcdef') }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x87);
    await expectClosedWithout(raw, 'auth');
  });

  it('an AUTH with another method in the exchange is a Protocol Error: CONNACK 0x82 and close [MQTT-4.12.0-5]', async () => {
    const raw = await open();
    const scram = new ScramClient(USER, PASSWORD);
    const challenge = await startExchange(raw, scram, 'ea-method');
    raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer), 'SCRAM-SHA-512'));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it('an AUTH 0x19 instead of 0x18 in the exchange is a Protocol Error: CONNACK 0x82 [MQTT-4.12.0-3]', async () => {
    const raw = await open();
    const scram = new ScramClient(USER, PASSWORD);
    const challenge = await startExchange(raw, scram, 'ea-rc');
    raw.send(auth(0x19, scram.final(challenge.properties?.authenticationData as Buffer)));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it('a PUBLISH during the exchange is a Protocol Error: CONNACK 0x82, nothing published [MQTT-3.1.2-30]', async () => {
    const watcher = await connectWithInbox(broker.url, { protocolVersion: 5, clientId: 'ea-watch', username: USER, password: PASSWORD });
    clients.push(watcher.client);
    await watcher.client.subscribeAsync('ea/early', { qos: 1 });
    const raw = await open();
    await startExchange(raw, new ScramClient(USER, PASSWORD), 'ea-early');
    raw.send({ cmd: 'publish', topic: 'ea/early', payload: Buffer.from('too early'), qos: 1, messageId: 1, retain: false, dup: false } as Packet);
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
    // The watcher's own message, sent after, is the first it gets.
    await watcher.client.publishAsync('ea/early', 'marker', { qos: 1 });
    expect((await watcher.inbox.next()).payload).toBe('marker');
  });

  it('a SUBSCRIBE sent right behind CONNECT (before the server asked anything) is a Protocol Error: CONNACK 0x82 [MQTT-3.1.2-30]', async () => {
    const raw = await open();
    raw.send(connect5('ea-pipelined', { authenticationMethod: METHOD, authenticationData: new ScramClient(USER, PASSWORD).first() }));
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    // The challenge may or may not have been sent before the SUBSCRIBE was read; the CONNACK is 0x82 either way.
    let packet = await raw.next();
    if (packet.cmd === 'auth') packet = await raw.next();
    expect(packet).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
    await raw.waitClosed();
  });

  it('an AUTH the server did not ask for (in the same write as CONNECT) is a Protocol Error: CONNACK 0x82', async () => {
    const raw = await open();
    // One write, so both are read before the server can have asked anything.
    const connect = connect5('ea-eager', { authenticationMethod: METHOD, authenticationData: new ScramClient(USER, PASSWORD).first() });
    raw.sendBytes(Buffer.concat([encode(connect, 5), encode(auth(0x18, Buffer.from('c=biws,r=x,p=AAAA')), 5)]));
    let packet = await raw.next();
    if (packet.cmd === 'auth') packet = await raw.next();
    expect(packet).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
    await raw.waitClosed();
  });

  it('DISCONNECT during the exchange ends it: the connection closes without CONNACK, and its will is not published', async () => {
    const watcher = await connectWithInbox(broker.url, { protocolVersion: 5, clientId: 'ea-will-watch', username: USER, password: PASSWORD });
    clients.push(watcher.client);
    await watcher.client.subscribeAsync('ea/will', { qos: 1 });
    const raw = await open();
    const will = { topic: 'ea/will', payload: Buffer.from('will'), qos: 1, retain: false };
    await startExchange(raw, new ScramClient(USER, PASSWORD), 'ea-bye', { will });
    raw.send({ cmd: 'disconnect', reasonCode: 0x04 });
    await expectClosedWithout(raw, 'connack');
    await watcher.client.publishAsync('ea/will', 'marker', { qos: 1 });
    expect((await watcher.inbox.next()).payload).toBe('marker');
  });

  it('the same client id can authenticate after an abandoned exchange (nothing of it was claimed)', async () => {
    const raw = await open();
    await startExchange(raw, new ScramClient(USER, PASSWORD), 'ea-again');
    raw.destroy();
    const { raw: again } = await scramConnected('ea-again');
    again.send({ cmd: 'pingreq' });
    expect((await again.next('pingresp')).cmd).toBe('pingresp');
  });

  it("an AUTH that would exceed the client's Maximum Packet Size is not sent: CONNACK 0x83 instead [v5:MQTT-3.1.2-24]", async () => {
    const raw = await open();
    raw.send(connect5('ea-small', { authenticationMethod: METHOD, authenticationData: new ScramClient(USER, PASSWORD).first(), maximumPacketSize: 64 }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x83);
    await expectClosedWithout(raw, 'auth');
  });

  it('a plain username/password CONNECT still works and its CONNACK carries no Authentication Method [MQTT-4.12.0-6]', async () => {
    const raw = await open();
    raw.send(connect5('ea-plain', {}, { username: USER, password: Buffer.from(PASSWORD) }));
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBeUndefined();
  });

  it('a method the broker does not offer still gets CONNACK 0x8C [MQTT-4.12.0-1]', async () => {
    const raw = await open();
    raw.send(connect5('ea-sha1', { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('n,,n=alice,r=abc') }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x8c);
    await expectClosedWithout(raw, 'auth');
  });
});

describe('re-authentication', () => {
  it('AUTH 0x19 → AUTH 0x18 → AUTH 0x18 → AUTH 0x00 with a server signature; publishing and delivery go on meanwhile [MQTT-4.12.1-1]', async () => {
    const { raw } = await scramConnected('ea-reauth');
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ea/re', qos: 1 }] });
    await raw.next('suback');
    const scram = new ScramClient(USER, PASSWORD);
    raw.send(auth(0x19, scram.first()));
    const challenge = (await raw.next('auth')) as AuthPacket;
    expect(challenge).toMatchObject({ reasonCode: 0x18, properties: { authenticationMethod: METHOD } });
    // Mid-exchange: a QoS 1 PUBLISH is acknowledged and delivered as usual.
    raw.send({ cmd: 'publish', topic: 'ea/re', payload: Buffer.from('during'), qos: 1, messageId: 7, retain: false, dup: false } as Packet);
    const seen = [await raw.next(), await raw.next()];
    expect(seen.map((p) => p.cmd).sort()).toEqual(['puback', 'publish']);
    raw.send({ cmd: 'puback', messageId: (seen.find((p) => p.cmd === 'publish') as PublishPacket).messageId ?? 0, reasonCode: 0 } as Packet);
    raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer)));
    const done = (await raw.next('auth')) as AuthPacket;
    expect(done.reasonCode).toBe(0x00);
    expect(done.properties?.authenticationMethod).toBe(METHOD);
    expect(scram.verifyServer(done.properties?.authenticationData)).toBe(true);
    // And again: re-authentication may be repeated.
    const second = new ScramClient(USER, PASSWORD);
    raw.send(auth(0x19, second.first()));
    const challenge2 = (await raw.next('auth')) as AuthPacket;
    raw.send(auth(0x18, second.final(challenge2.properties?.authenticationData as Buffer)));
    expect(((await raw.next('auth')) as AuthPacket).reasonCode).toBe(0x00);
  });

  it('a failed re-authentication gets DISCONNECT 0x87 and the close publishes the will [MQTT-4.12.1-2]', async () => {
    const watcher = await connectWithInbox(broker.url, { protocolVersion: 5, clientId: 'ea-rewill-watch', username: USER, password: PASSWORD });
    clients.push(watcher.client);
    await watcher.client.subscribeAsync('ea/rewill', { qos: 1 });
    const { raw } = await scramConnected('ea-refail', { will: { topic: 'ea/rewill', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const scram = new ScramClient(USER, 'wrong');
    raw.send(auth(0x19, scram.first()));
    const challenge = (await raw.next('auth')) as AuthPacket;
    raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer)));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x87);
    await raw.waitClosed();
    expect((await watcher.inbox.next()).payload).toBe('gone');
  });

  it('a re-authentication as an unknown user fails: DISCONNECT 0x87', async () => {
    const { raw } = await scramConnected('ea-reuser');
    const scram = new ScramClient('mallory', PASSWORD);
    raw.send(auth(0x19, scram.first()));
    const challenge = (await raw.next('auth')) as AuthPacket;
    raw.send(auth(0x18, scram.final(challenge.properties?.authenticationData as Buffer)));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x87);
    await raw.waitClosed();
  });

  it('AUTH 0x19 from a client that connected without enhanced authentication gets DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
    const raw = await open();
    raw.send(connect5('ea-noenh', {}, { username: USER, password: Buffer.from(PASSWORD) }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
    raw.send(auth(0x19, new ScramClient(USER, PASSWORD).first()));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await expectClosedWithout(raw, 'auth');
  });

  it('AUTH 0x19 with another method than CONNECT used gets DISCONNECT 0x82 [MQTT-4.12.1-1]', async () => {
    const { raw } = await scramConnected('ea-remethod');
    raw.send(auth(0x19, new ScramClient(USER, PASSWORD).first(), 'SCRAM-SHA-1'));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it('an AUTH 0x18 no exchange asked for, or an AUTH 0x00 from the client, gets DISCONNECT 0x82', async () => {
    const first = (await scramConnected('ea-stray18')).raw;
    first.send(auth(0x18, Buffer.from('c=biws,r=x,p=AAAA')));
    expect(((await first.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await first.waitClosed();
    const second = (await scramConnected('ea-stray00')).raw;
    second.send(auth(0x00));
    expect(((await second.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await second.waitClosed();
  });

  it('a second AUTH 0x19 while one is in progress gets DISCONNECT 0x82', async () => {
    const { raw } = await scramConnected('ea-twice');
    raw.send(auth(0x19, new ScramClient(USER, PASSWORD).first()));
    await raw.next('auth');
    raw.send(auth(0x19, new ScramClient(USER, PASSWORD).first()));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });
});

describe('mqtt.js', () => {
  /** The next event of an mqtt.js client (its typed emitter is an EventEmitter underneath). */
  function nextEvent<T extends unknown[]>(client: MqttClient, event: 'connect' | 'error' | 'message'): Promise<T> {
    return onceWithin<T>(client as unknown as EventEmitter, event);
  }

  /** An mqtt.js v5 client that answers the server-first through handleAuth. */
  function scramClient(clientId: string, password: string): { client: MqttClient; scram: ScramClient } {
    const scram = new ScramClient(USER, password);
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      properties: { authenticationMethod: METHOD, authenticationData: scram.first() },
    };
    const client = mqtt.connect(broker.url, options);
    clients.push(client);
    client.handleAuth = (packet, callback) => {
      const data = packet.properties?.authenticationData;
      if (packet.reasonCode !== 0x18 || data === undefined) return callback(new Error(`unexpected AUTH ${packet.reasonCode}`));
      callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: scram.final(data) } });
    };
    return { client, scram };
  }

  it('connects with SCRAM-SHA-256 through handleAuth, verifies the server, and publishes and receives', async () => {
    const { client, scram } = scramClient('ea-mqttjs', PASSWORD);
    const [connack] = await nextEvent<[{ reasonCode?: number; properties?: Properties }]>(client, 'connect');
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    expect(scram.verifyServer(connack.properties?.authenticationData)).toBe(true);
    await client.subscribeAsync('ea/js', { qos: 1 });
    const got = nextEvent<[string, Buffer]>(client, 'message');
    await client.publishAsync('ea/js', 'from mqtt.js', { qos: 1 });
    expect((await got)[1].toString()).toBe('from mqtt.js');
  });

  it('a wrong password ends in an error with reason code 0x87 and no connection', async () => {
    const { client } = scramClient('ea-mqttjs-bad', 'wrong');
    const [err] = await nextEvent<[Error & { code?: number }]>(client, 'error');
    expect(err.code).toBe(0x87);
    expect(client.connected).toBe(false);
  });

  it('a v3.1.1 client with the same user name and password connects as before', async () => {
    const client = await connectClient(broker.url, { protocolVersion: 4, clientId: 'ea-v4', username: USER, password: PASSWORD });
    clients.push(client);
    expect(client.connected).toBe(true);
  });
});

describe('exchanges the client abandons (connect timeout 300 ms)', () => {
  let quick: TestBroker;
  beforeAll(async () => {
    quick = await startTestBroker({ username: USER, password: PASSWORD, connectTimeoutMs: 300 });
  });
  afterAll(async () => {
    await quick.close();
  });

  it('an exchange the client abandons is closed by the connect timeout, without CONNACK', async () => {
    const raw = await open(quick.port);
    const started = Date.now();
    await startExchange(raw, new ScramClient(USER, PASSWORD), 'ea-abandoned');
    await raw.waitClosed(3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(raw.packets.filter((p) => p.cmd === 'connack')).toEqual([]);
  });

  it('a re-authentication the client abandons gets as long: then DISCONNECT 0x87 and the close [MQTT-4.12.1-2]', async () => {
    // The CONNECT exchange itself must end within 300 ms here; a loaded machine may miss that once.
    const { raw } = await scramConnected('ea-reabandon', {}, quick.port).catch(async () => scramConnected('ea-reabandon-2', {}, quick.port));
    raw.send(auth(0x19, new ScramClient(USER, PASSWORD).first()));
    expect(((await raw.next('auth')) as AuthPacket).reasonCode).toBe(0x18);
    const asked = Date.now();
    expect(((await raw.next('disconnect', 3000)) as DisconnectPacket).reasonCode).toBe(0x87);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(200);
    await raw.waitClosed();
  });
});

describe('a client that goes away mid-exchange (connect timeout 5 s)', () => {
  let slow: TestBroker;
  beforeAll(async () => {
    slow = await startTestBroker({ username: USER, password: PASSWORD, connectTimeoutMs: 5000, authMethods: METHOD });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('its half-closed socket is closed at once, not kept until the connect timeout', async () => {
    const raw = await RawClient.open(slow.port, 5);
    raws.push(raw);
    await startExchange(raw, new ScramClient(USER, PASSWORD), 'ea-halfclose');
    raw.socket.end(); // FIN: the client sends nothing more, but still reads
    const ended = Date.now();
    await raw.waitClosed(2000);
    expect(Date.now() - ended).toBeLessThan(2000);
    expect(raw.packets.filter((p) => p.cmd === 'connack')).toEqual([]);
  });
});

describe('--auth-methods none', () => {
  let plain: TestBroker;
  beforeAll(async () => {
    plain = await startTestBroker({ username: USER, password: PASSWORD, authMethods: 'none' });
  });
  afterAll(async () => {
    await plain.close();
  });

  it('turns SCRAM-SHA-256 off: CONNECT with it gets CONNACK 0x8C, plain credentials still work', async () => {
    const raw = await RawClient.open(plain.port, 5);
    raws.push(raw);
    raw.send(connect5('ea-none', { authenticationMethod: METHOD, authenticationData: new ScramClient(USER, PASSWORD).first() }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x8c);
    await raw.waitClosed();
    const client = await connectClient(plain.url, { protocolVersion: 5, clientId: 'ea-none-plain', username: USER, password: PASSWORD });
    clients.push(client);
    expect(client.connected).toBe(true);
  });
});
