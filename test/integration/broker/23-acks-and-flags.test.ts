// Acknowledgements to the letter: v5 PUBACK/PUBREC 0x10 No matching subscribers (v5 §3.4.2.1,
// §3.5.2.1), an acknowledgement of the wrong type for a packet id is a Protocol Error (§4.3.2,
// §4.3.3), and the fixed-header flag rules per protocol level (MQTT 3.1 resends PUBREL with DUP).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectWithInbox, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { ackCode } from '../../helpers/ack-code.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { AckPacket, DisconnectPacket, Packet, ProtocolVersion, PublishPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  for (const r of raws) r.destroy();
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function client(id: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectClient(broker.url, { protocolVersion: 5, clientId: id, ...options });
  clients.push(c);
  return c;
}

async function raw(id: string, version: ProtocolVersion, extra: Partial<Packet> = {}): Promise<RawClient> {
  const r = await RawClient.connected(broker.port, id, version, extra);
  raws.push(r);
  return r;
}


describe('v5 PUBACK/PUBREC 0x10 No matching subscribers (v5 §3.4.2.1, §3.5.2.1)', () => {
  it.each([1, 2] as const)('QoS %i to a topic nobody subscribes to: 0x10, and the publish completes', async (qos) => {
    const pub = await client(`nm-pub-none-${qos}`);
    expect(await ackCode(pub, `nomatch/none/${qos}`, qos)).toBe(0x10);
    expect(pub.connected).toBe(true);
  });

  it('a retained message nobody subscribes to is stored, and still 0x10 (as Mosquitto answers)', async () => {
    const pub = await client('nm-pub-retained');
    expect(await ackCode(pub, 'nomatch/retained', 1, true)).toBe(0x10);
    const late = await client('nm-late');
    const inbox = new Inbox(late);
    await late.subscribeAsync('nomatch/retained', { qos: 1 });
    expect(await inbox.next()).toMatchObject({ topic: 'nomatch/retained', retain: true });
    await pub.publishAsync('nomatch/retained', '', { qos: 1, retain: true }); // clear it
  });

  it.each([
    ['an exact subscription', 'nomatch/exact/t', 'nomatch/exact/t'],
    ['a + wildcard', 'nomatch/plus/+/end', 'nomatch/plus/x/end'],
    ['a # wildcard', 'nomatch/hash/#', 'nomatch/hash/a/b'],
    ['a shared subscription group', '$share/g1/nomatch/shared/+', 'nomatch/shared/x'],
  ])('QoS 1 and 2 with %s: 0x00', async (_what, filter, topic) => {
    const sub = await client(`nm-sub-${filter}`);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(filter, { qos: 2 });
    const pub = await client(`nm-pub-${filter}`);
    expect(await ackCode(pub, topic, 1)).toBe(0x00);
    expect(await ackCode(pub, topic, 2)).toBe(0x00);
    await inbox.waitCount(2);
  });

  it('a parked persistent session (its client offline) is a subscriber: 0x00, and it gets the message on resume', async () => {
    const sub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'nm-parked', clean: false, properties: { sessionExpiryInterval: 60 } });
    await sub.subscribeAsync('nomatch/parked', { qos: 1 });
    await sub.endAsync();
    const pub = await client('nm-pub-parked');
    expect(await ackCode(pub, 'nomatch/parked', 1)).toBe(0x00);
    const { client: back, inbox } = await connectWithInbox(broker.url, { protocolVersion: 5, clientId: 'nm-parked', clean: false });
    clients.push(back);
    expect(await inbox.next()).toMatchObject({ topic: 'nomatch/parked' });
  });

  it("the publisher's own subscription counts even with No Local (as Mosquitto counts it): 0x00", async () => {
    const self = await client('nm-nolocal');
    await self.subscribeAsync('nomatch/nolocal', { qos: 1, nl: true });
    expect(await ackCode(self, 'nomatch/nolocal', 1)).toBe(0x00);
  });

  it('a v3.1.1 publisher gets a PUBACK without a reason code (the exact packet)', async () => {
    const r = await raw('nm-v4-raw', 4);
    r.send({ cmd: 'publish', topic: 'nomatch/v4', payload: Buffer.from('x'), qos: 1, messageId: 7, retain: false, dup: false } as PublishPacket);
    const ack = (await r.next('puback')) as AckPacket;
    expect(ack).toEqual({ cmd: 'puback', messageId: 7 });
  });

  it('a v5 publisher sees the exact PUBACK and PUBREC: packet id and reason code 0x10', async () => {
    const r = await raw('nm-v5-raw', 5);
    r.send({ cmd: 'publish', topic: 'nomatch/v5raw', payload: Buffer.from('x'), qos: 1, messageId: 9, retain: false, dup: false } as PublishPacket);
    expect(await r.next('puback')).toEqual({ cmd: 'puback', messageId: 9, reasonCode: 0x10 });
    r.send({ cmd: 'publish', topic: 'nomatch/v5raw', payload: Buffer.from('x'), qos: 2, messageId: 10, retain: false, dup: false } as PublishPacket);
    expect(await r.next('pubrec')).toEqual({ cmd: 'pubrec', messageId: 10, reasonCode: 0x10 });
    r.send({ cmd: 'pubrel', messageId: 10 });
    expect(await r.next('pubcomp')).toEqual({ cmd: 'pubcomp', messageId: 10 });
  });
});

/** A raw subscriber at `version` that has received one PUBLISH at `qos` (delivered QoS = `qos`). */
async function delivered(version: ProtocolVersion, id: string, qos: 1 | 2): Promise<{ r: RawClient; publish: PublishPacket }> {
  const r = await raw(id, version);
  r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `wrongack/${id}`, qos }] } as Packet);
  await r.next('suback');
  const pub = await client(`${id}-pub`);
  await pub.publishAsync(`wrongack/${id}`, 'm', { qos });
  const publish = (await r.next('publish')) as PublishPacket;
  expect(publish.qos).toBe(qos);
  return { r, publish };
}

/** The connection ends as a protocol error does: DISCONNECT 0x82 for v5, a plain close before. */
async function closedForProtocolError(r: RawClient): Promise<void> {
  await r.waitClosed();
  const rest = r.packets.filter((p) => p.cmd !== 'publish');
  if (r.version === 5) expect(rest).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x82 } satisfies Partial<DisconnectPacket>]);
  else expect(rest).toEqual([]);
}

describe.each([4, 5] as const)('an acknowledgement of the wrong type is a Protocol Error (§4.3.2, §4.3.3), level %i', (version) => {
  it('PUBACK for a QoS 2 message', async () => {
    const { r, publish } = await delivered(version, `wa-puback-q2-${version}`, 2);
    r.send({ cmd: 'puback', messageId: publish.messageId as number });
    await closedForProtocolError(r);
  });

  it('PUBREC for a QoS 1 message', async () => {
    const { r, publish } = await delivered(version, `wa-pubrec-q1-${version}`, 1);
    r.send({ cmd: 'pubrec', messageId: publish.messageId as number });
    await closedForProtocolError(r);
  });

  it('PUBCOMP for a QoS 1 message', async () => {
    const { r, publish } = await delivered(version, `wa-pubcomp-q1-${version}`, 1);
    r.send({ cmd: 'pubcomp', messageId: publish.messageId as number });
    await closedForProtocolError(r);
  });

  it('PUBCOMP for a QoS 2 message still awaiting PUBREC', async () => {
    const { r, publish } = await delivered(version, `wa-pubcomp-early-${version}`, 2);
    r.send({ cmd: 'pubcomp', messageId: publish.messageId as number });
    await closedForProtocolError(r);
  });

  it('PUBREC again after our PUBREL is a duplicate, not an error: PUBREL again, then PUBCOMP ends the flow', async () => {
    const { r, publish } = await delivered(version, `wa-pubrec-dup-${version}`, 2);
    const messageId = publish.messageId as number;
    r.send({ cmd: 'pubrec', messageId });
    expect(await r.next('pubrel')).toEqual({ cmd: 'pubrel', messageId });
    r.send({ cmd: 'pubrec', messageId });
    expect(await r.next('pubrel')).toEqual({ cmd: 'pubrel', messageId });
    r.send({ cmd: 'pubcomp', messageId });
    r.send({ cmd: 'pingreq' } as Packet);
    expect((await r.next()).cmd).toBe('pingresp');
    expect(r.closed).toBe(false);
  });

  it('acknowledgements for ids not in flight stay as they were: PUBACK/PUBCOMP ignored, PUBREC answered with PUBREL', async () => {
    const r = await raw(`wa-unknown-${version}`, version);
    r.send({ cmd: 'puback', messageId: 4242 });
    r.send({ cmd: 'pubcomp', messageId: 4243 });
    r.send({ cmd: 'pubrec', messageId: 4244 });
    const pubrel = version === 5 ? { cmd: 'pubrel', messageId: 4244, reasonCode: 0x92 } : { cmd: 'pubrel', messageId: 4244 };
    expect(await r.next()).toEqual(pubrel);
    r.send({ cmd: 'pingreq' } as Packet);
    expect((await r.next()).cmd).toBe('pingresp');
  });

  it('the right acknowledgements keep the connection: PUBACK for QoS 1, PUBREC + PUBCOMP for QoS 2', async () => {
    const one = await delivered(version, `wa-right-q1-${version}`, 1);
    one.r.send({ cmd: 'puback', messageId: one.publish.messageId as number });
    const two = await delivered(version, `wa-right-q2-${version}`, 2);
    two.r.send({ cmd: 'pubrec', messageId: two.publish.messageId as number });
    await two.r.next('pubrel');
    two.r.send({ cmd: 'pubcomp', messageId: two.publish.messageId as number });
    for (const r of [one.r, two.r]) {
      r.send({ cmd: 'pingreq' } as Packet);
      expect((await r.next()).cmd).toBe('pingresp');
    }
  });
});

describe('fixed-header flags per protocol level: PUBREL resent with DUP set', () => {
  /** PUBREL with DUP set (0x6A): how a 3.1 client resends it; reserved bits broken in 3.1.1. */
  const pubrelDup = (messageId: number): number[] => [0x6a, 2, messageId >> 8, messageId & 0xff];

  it('an MQTT 3.1 client (MQIsdp, level 3) gets PUBCOMP for each PUBREL, the resend with DUP too, and stays connected', async () => {
    const r = await raw('flags-v31', 3);
    r.send({ cmd: 'publish', topic: 'flags/v31', payload: Buffer.from('x'), qos: 2, messageId: 5, retain: false, dup: false } as PublishPacket);
    expect(await r.next('pubrec')).toEqual({ cmd: 'pubrec', messageId: 5 });
    r.sendBytes(pubrelDup(5));
    expect(await r.next('pubcomp')).toEqual({ cmd: 'pubcomp', messageId: 5 });
    r.sendBytes(pubrelDup(5)); // its PUBCOMP lost, say: resent again
    expect(await r.next('pubcomp')).toEqual({ cmd: 'pubcomp', messageId: 5 });
    r.send({ cmd: 'pingreq' } as Packet);
    expect((await r.next()).cmd).toBe('pingresp');
    expect(r.closed).toBe(false);
  });

  it('an MQTT 3.1.1 client sending the same PUBREL is closed: its flags must be 0010 [MQTT-3.6.1-1, MQTT-2.2.2-2]', async () => {
    const r = await raw('flags-v311', 4);
    r.send({ cmd: 'publish', topic: 'flags/v311', payload: Buffer.from('x'), qos: 2, messageId: 5, retain: false, dup: false } as PublishPacket);
    expect(await r.next('pubrec')).toEqual({ cmd: 'pubrec', messageId: 5 });
    r.sendBytes(pubrelDup(5));
    await r.waitClosed();
    expect(r.packets).toEqual([]);
  });
});

/**
 * A paho-mqtt MQTT 5 client publishes QoS 1 to a topic nobody subscribes to and prints the PUBACK
 * reason code paho read. paho >= 2.0 hands it to on_publish (CallbackAPIVersion.VERSION2); paho 1.x
 * (Debian's python3-paho-mqtt 1.6.1) decodes it but on_publish gets only the mid, so there the code
 * is taken from paho's own decoding of the PUBACK (its ReasonCodes.unpack).
 */
const PAHO_NO_MATCH = `
import json, sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
port = int(sys.argv[1])
codes = []
published = threading.Event()
if hasattr(mqtt, "CallbackAPIVersion"):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-nomatch", protocol=mqtt.MQTTv5)
    def on_publish(client, userdata, mid, reason_code, properties):
        codes.append(reason_code.value)
        published.set()
else:
    class Recorded(mqtt.ReasonCodes):
        def unpack(self, buffer):
            used = super().unpack(buffer)
            if self.packetType == PacketTypes.PUBACK: codes.append(self.value)
            return used
    mqtt.ReasonCodes = Recorded
    c = mqtt.Client(client_id="paho-nomatch", protocol=mqtt.MQTTv5)
    def on_publish(client, userdata, mid):
        published.set()
c.on_publish = on_publish
c.connect("127.0.0.1", port, keepalive=10)
c.loop_start()
c.publish("nomatch/paho", "nobody listens", qos=1)
ok = published.wait(5)
connected = c.is_connected()
c.disconnect()
c.loop_stop()
print(json.dumps({"ok": ok, "codes": codes, "connected": connected}))
`;

describe('Python paho-mqtt (MQTT 5)', () => {
  it('publishing QoS 1 to a topic without subscribers reads reason code 0x10 No matching subscribers', async () => {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', PAHO_NO_MATCH, String(broker.port)], { timeout: 15_000 });
    expect(JSON.parse(stdout)).toEqual({ ok: true, codes: [0x10], connected: true });
  });
});
