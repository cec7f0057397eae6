// mqtt.js clients placed on a chosen worker of a test cluster. node:cluster hands connections
// to workers in turn, so after a probe lands on a worker we do not want, the next connection
// goes to the other one; the node a client landed on is read from its owner record in Redis.
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connectClient } from './broker-harness.js';
import type { TestCluster } from './cluster-harness.js';
import { waitFor } from './wait.js';

export async function nodeOfClient(cluster: TestCluster, clientId: string): Promise<string> {
  let node: string | null = null;
  await waitFor(async () => (node = await cluster.nodeOf(clientId)) !== null, `owner of ${clientId}`);
  return node as unknown as string;
}

export interface PlacedClient {
  client: MqttClient;
  nodeId: string;
  /** Every message from the first packet on (a resumed session's queue comes right after CONNACK). */
  messages: Array<{ topic: string; payload: string }>;
}

/** Connects and collects messages from the start; resolves on CONNACK. */
export function connectCollecting(url: string, options: IClientOptions): Promise<{ client: MqttClient; messages: PlacedClient['messages'] }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...options });
  const messages: PlacedClient['messages'] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error('connection closed before CONNACK'));
    client.once('connect', () => (client.off('close', onClose), resolve({ client, messages })));
    client.once('close', onClose);
    client.once('error', reject);
  });
}

/** Connects with `options` so that the client lands on a node for which want(node) holds. */
export async function connectPlaced(cluster: TestCluster, want: (nodeId: string) => boolean, options: IClientOptions = {}): Promise<PlacedClient> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const probeId = `probe-${randomBytes(4).toString('hex')}`;
    const probe = await connectClient(cluster.url, { clientId: probeId, clean: true });
    const probeNode = await nodeOfClient(cluster, probeId);
    await probe.endAsync();
    if (want(probeNode)) continue; // the next connection would go elsewhere: probe again
    const clientId = options.clientId ?? `c-${randomBytes(4).toString('hex')}`;
    const { client, messages } = await connectCollecting(cluster.url, { ...options, clientId });
    const nodeId = await nodeOfClient(cluster, clientId);
    if (want(nodeId)) return { client, nodeId, messages };
    await client.endAsync();
  }
  throw new Error('could not place a client on the wanted worker');
}

/** A QoS 1 stream (a few hundred a second) that goes on until stop(): what was acknowledged is a promise kept. */
export interface Qos1Stream {
  /** Payloads whose PUBLISH was acknowledged (each payload is its sequence number). */
  readonly acked: string[];
  stop(): Promise<void>;
}

export function startQos1Stream(publisher: MqttClient, topicPrefix: string): Qos1Stream {
  const acked: string[] = [];
  let stopped = false;
  let sent = 0;
  const running = (async () => {
    while (!stopped) {
      const id = String(sent++);
      try {
        await publisher.publishAsync(`${topicPrefix}/${id}`, id, { qos: 1 });
        acked.push(id);
      } catch {
        // not acknowledged: no promise made
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    acked,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}
