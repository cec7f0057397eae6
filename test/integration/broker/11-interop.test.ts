// Interoperability with other clients: mosquitto_pub/mosquitto_sub and Python paho-mqtt.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { waitFor } from '../../helpers/wait.js';

const run = promisify(execFile);
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.close();
});

/** Starts mosquitto_sub and resolves once its SUBACK arrived; `lines` collects printed messages. */
async function mosquittoSub(args: string[]): Promise<{ lines: string[]; done: Promise<number> }> {
  // stdbuf: mosquitto_sub block-buffers stdout into a pipe, which would hide the SUBACK line.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(broker.port), '-d', ...args]);
  const lines: string[] = [];
  let subscribed = false;
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      if (line.includes('received SUBACK')) subscribed = true;
      else if (line.startsWith('MSG ')) lines.push(line.slice(4));
    }
  });
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)) /* 'close': after stdout is drained */);
  await waitFor(() => subscribed, 'mosquitto_sub SUBACK');
  return { lines, done };
}

describe('mosquitto clients', () => {
  it.each([0, 1, 2])('mosquitto_pub → mosquitto_sub at QoS %i (MQTT 3.1.1) [v3:MQTT-7.0.0-2]', async (qos) => {
    const topic = `interop/mosq/${qos}`;
    const sub = await mosquittoSub(['-V', 'mqttv311', '-q', String(qos), '-t', topic, '-C', '1', '-F', 'MSG %t %q %p']);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', String(qos), '-t', topic, '-m', `hello${qos}`]);
    expect(await sub.done).toBe(0);
    expect(sub.lines).toEqual([`${topic} ${qos} hello${qos}`]);
  });

  it('mosquitto_pub retained, then mosquitto_sub (MQTT 5) receives it with the retain flag [v5:MQTT-7.0.0-2]', async () => {
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv5', '-q', '1', '-r', '-t', 'interop/mosq/retained', '-m', 'kept']);
    const sub = await mosquittoSub(['-V', 'mqttv5', '-q', '1', '-t', 'interop/mosq/retained', '-C', '1', '-F', 'MSG %t %r %p']);
    expect(await sub.done).toBe(0);
    expect(sub.lines).toEqual(['interop/mosq/retained 1 kept']);
  });

  it('mqtt.js publishes at QoS 2, mosquitto_sub (MQTT 3.1) receives', async () => {
    const sub = await mosquittoSub(['-V', 'mqttv31', '-q', '2', '-t', 'interop/js', '-C', '1', '-F', 'MSG %q %p']);
    const pub = await connectClient(broker.url, { clientId: 'js-to-mosq' });
    await pub.publishAsync('interop/js', 'from js', { qos: 2 });
    expect(await sub.done).toBe(0);
    expect(sub.lines).toEqual(['2 from js']);
    await pub.endAsync();
  });
});

const PAHO = `
import json, sys, threading
import paho.mqtt.client as mqtt
port = int(sys.argv[1])
got = []
done = threading.Event()
subscribed = threading.Event()
def on_message(c, u, m):
    got.append([m.topic, m.qos, bool(m.retain), m.payload.decode()])
    if len(got) == 4: done.set()
def on_subscribe(c, u, mid, granted): subscribed.set()
c = mqtt.Client(client_id="paho-interop", clean_session=True)
c.on_message = on_message
c.on_subscribe = on_subscribe
c.connect("127.0.0.1", port, keepalive=10)
c.loop_start()
c.subscribe("interop/paho/#", qos=2)
subscribed.wait(5)
for q in (0, 1, 2):
    c.publish("interop/paho/q%d" % q, "p%d" % q, qos=q).wait_for_publish()
ok = done.wait(5)
c.loop_stop()
print(json.dumps({"ok": ok, "got": got}))
`;

describe('Python paho-mqtt', () => {
  it('subscribes and publishes at QoS 0/1/2 and receives a retained message', async () => {
    const pub = await connectClient(broker.url, { clientId: 'paho-retainer' });
    await pub.publishAsync('interop/paho/retained', 'r', { qos: 1, retain: true });
    await pub.endAsync();
    const { stdout } = await run('/usr/bin/python3', ['-c', PAHO, String(broker.port)], { timeout: 15_000 });
    const result = JSON.parse(stdout) as { ok: boolean; got: Array<[string, number, boolean, string]> };
    expect(result.ok).toBe(true);
    // The retained message and the live ones are on different topics: no order between them.
    expect(result.got.sort()).toEqual([
      ['interop/paho/q0', 0, false, 'p0'],
      ['interop/paho/q1', 1, false, 'p1'],
      ['interop/paho/q2', 2, false, 'p2'],
      ['interop/paho/retained', 1, true, 'r'],
    ]);
  });

  it('paho publishes, mqtt.js receives', async () => {
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'js-from-paho' });
    await client.subscribeAsync('interop/to-js', { qos: 1 });
    const script = 'import sys, paho.mqtt.publish as p; p.single("interop/to-js", "from paho", qos=1, hostname="127.0.0.1", port=int(sys.argv[1]))';
    await run('/usr/bin/python3', ['-c', script, String(broker.port)], { timeout: 15_000 });
    expect(await inbox.next()).toMatchObject({ topic: 'interop/to-js', payload: 'from paho', qos: 1 });
    await client.endAsync();
  });
});
