// The capabilities CONNACK announces, as real clients see them: Python paho-mqtt (Debian's
// python3-paho-mqtt) and mqtt.js, v5 and v3.1.1, against a broker with each one capped or off.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import type { EventEmitter } from 'node:events';
import { onceWithin } from '../../helpers/wait.js';

const run = promisify(execFile);
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ maxKeepalive: 60, maxQos: 1, retainAvailable: false, receiveMaximum: 5, maxSessionExpiry: 30 });
});
afterAll(() => broker.close());

// paho 1.6 (Debian): v5 asks keep-alive 120 and session expiry 3600, reads CONNACK, then
// publishes retained; then a v3.1.1 client asks keep-alive 120.
const PAHO = `
import json, sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
port = int(sys.argv[1])
out = {}
connected = threading.Event(); gone = threading.Event()
def on_connect(c, u, flags, rc, props):
    out["connack"] = rc.value
    p = props.json() if props is not None else {}
    out["props"] = {k: p[k] for k in ("ServerKeepAlive", "MaximumQoS", "RetainAvailable", "ReceiveMaximum", "SessionExpiryInterval") if k in p}
    connected.set()
def on_disconnect(c, u, rc, props=None):
    out["disconnect"] = rc.value if hasattr(rc, "value") else rc
    gone.set()
c = mqtt.Client(client_id="paho-caps", protocol=mqtt.MQTTv5)
c.on_connect = on_connect; c.on_disconnect = on_disconnect
cp = Properties(PacketTypes.CONNECT); cp.SessionExpiryInterval = 3600
c.connect("127.0.0.1", port, keepalive=120, clean_start=True, properties=cp)
c.loop_start()
connected.wait(5)
c.publish("caps/retained", "x", qos=1, retain=True)
gone.wait(5)
c.loop_stop()
r = {}
ev = threading.Event()
def on_connect4(c, u, flags, rc): r["rc"] = rc; ev.set()
c4 = mqtt.Client(client_id="paho-caps4", protocol=mqtt.MQTTv311)
c4.on_connect = on_connect4
c4.connect("127.0.0.1", port, keepalive=120)
c4.loop_start(); ev.wait(5); c4.loop_stop()
out["v311_connack"] = r.get("rc")
print(json.dumps(out))
`;

describe('Python paho-mqtt', () => {
  it('v5 reads the capped keep-alive, QoS, retain, Receive Maximum and session expiry, and a retained PUBLISH gets DISCONNECT 0x9A; v3.1.1 asking keep-alive 120 gets return code 2', async () => {
    const { stdout } = await run('/usr/bin/python3', ['-c', PAHO, String(broker.port)], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({
      connack: 0,
      props: { ServerKeepAlive: 60, MaximumQoS: 1, RetainAvailable: 0, ReceiveMaximum: 5, SessionExpiryInterval: 30 },
      disconnect: 0x9a,
      v311_connack: 2,
    });
  });
});

describe('mqtt.js', () => {
  it('v5 gets the capabilities in CONNACK and DISCONNECT 0x9B for a QoS 2 PUBLISH above Maximum QoS', async () => {
    const client = mqtt.connect(broker.url, { protocolVersion: 5, clientId: 'js-caps', keepalive: 0, reconnectPeriod: 0, properties: { sessionExpiryInterval: 3600 } });
    const [connack] = await onceWithin<[{ properties?: Record<string, unknown> }]>(client as unknown as EventEmitter, 'connect');
    expect(connack.properties).toMatchObject({ serverKeepAlive: 60, maximumQoS: 1, retainAvailable: false, receiveMaximum: 5, sessionExpiryInterval: 30 });
    const disconnected = onceWithin<[{ reasonCode?: number }]>(client as unknown as EventEmitter, 'disconnect');
    client.publish('caps/q2', 'x', { qos: 2 });
    expect((await disconnected)[0].reasonCode).toBe(0x9b);
    client.end(true);
  });

  it('v3.1.1 asking keep-alive 120 is refused: "Identifier rejected" (return code 2)', async () => {
    await expect(connectClient(broker.url, { clientId: 'js-caps4', keepalive: 120 })).rejects.toThrow(/Identifier rejected/);
    const ok = await connectClient(broker.url, { clientId: 'js-caps4-ok', keepalive: 30 });
    await ok.endAsync();
  });
});
