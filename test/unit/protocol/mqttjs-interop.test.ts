// Interop over a real TCP socket: a real mqtt.js client talks to a tiny server that uses only
// our PacketParser and encode(). The client must connect, subscribe, publish QoS 1 and receive
// its own message back, at protocol levels 4 and 5.
import net from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { encode, PacketParser, type Packet, type ProtocolVersion } from '../../../src/protocol/index.js';

/** Answers CONNECT, SUBSCRIBE, PUBLISH (echoing it back to the sender), PINGREQ and DISCONNECT. */
function startEchoServer(received: Packet[]): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const parser = new PacketParser();
    socket.on('data', (chunk) => {
      parser.parse(chunk, (packet) => {
        received.push(packet);
        const v = parser.protocolVersion;
        switch (packet.cmd) {
          case 'connect': socket.write(encode({ cmd: 'connack', sessionPresent: false, reasonCode: 0 }, v)); break;
          case 'subscribe': socket.write(encode({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) }, v)); break;
          case 'publish':
            if (packet.qos === 1) socket.write(encode({ cmd: 'puback', messageId: packet.messageId ?? 0 }, v));
            socket.write(encode({ ...packet, qos: 0, dup: false, messageId: undefined, properties: undefined }, v));
            break;
          case 'pingreq': socket.write(encode({ cmd: 'pingresp' }, v)); break;
          case 'disconnect': socket.end(); break;
        }
      });
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server: net.Server | undefined;
let client: mqtt.MqttClient | undefined;
afterEach(async () => {
  await client?.endAsync();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  client = undefined;
});

describe.each([4, 5] as const)('mqtt.js interop over TCP, protocol level %i', (version: ProtocolVersion) => {
  it('connects, subscribes, publishes QoS 1 and receives the echo', async () => {
    const received: Packet[] = [];
    server = await startEchoServer(received);
    const { port } = server.address() as net.AddressInfo;
    client = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: version, clientId: `interop-${version}`, reconnectPeriod: 0, username: 'u', password: 'p', will: { topic: 'will/t', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const message = new Promise<[string, Buffer]>((resolve) => client!.once('message', (t, p) => resolve([t, p])));
    await client.subscribeAsync('interop/+', { qos: 1 });
    await client.publishAsync('interop/x', Buffer.from('héllo'), { qos: 1 });
    const [topic, payload] = await message;
    expect(topic).toBe('interop/x');
    expect(payload.toString()).toBe('héllo');
    expect(received[0]).toMatchObject({ cmd: 'connect', protocolVersion: version, clientId: `interop-${version}`, username: 'u', will: { topic: 'will/t', qos: 1 } });
    expect(received.map((p) => p.cmd)).toEqual(expect.arrayContaining(['connect', 'subscribe', 'publish']));
  });
});
