// Starts a broker for an integration test: 127.0.0.1, port 0, memory backend, short timeouts.
//
// Tests use only the documented fields (url, port, stats(), close()) so the same files can run
// against another process layout: set STARLING_TEST_HARNESS to a module exporting
// startTestBroker with this signature (e.g. a 2-worker cluster on Redis) and it is used instead.
// `broker` is the in-process Broker when there is one (undefined otherwise); tests avoid it.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startBroker, type Broker, type BrokerConfig, type BrokerStats } from '../../src/index.js';
import { silentLogger } from '../../src/log.js';

export interface TestBroker {
  url: string;
  port: number;
  broker: Broker | undefined;
  /** Counters as $SYS would report them (summed over workers in a cluster). */
  stats(): Promise<BrokerStats>;
  close(): Promise<void>;
}

/** Timeouts short enough to keep the suite fast on a small machine. */
export const testDefaults: Partial<BrokerConfig> = {
  host: '127.0.0.1',
  port: 0,
  logLevel: 'silent',
  connectTimeoutMs: 300,
  sysInterval: 0,
  // Tests that fail logins on purpose are not slowed (29-login-throttle turns the delay on).
  authFailDelayMs: 0,
};

export async function startTestBroker(overrides: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const external = process.env.STARLING_TEST_HARNESS;
  if (external !== undefined && external !== '') {
    const mod = (await import(external)) as { startTestBroker(o: Partial<BrokerConfig>): Promise<TestBroker> };
    return mod.startTestBroker({ ...testDefaults, ...overrides });
  }
  const running = await startBroker({ ...testDefaults, ...overrides }, undefined, { logger: silentLogger() });
  return {
    url: `mqtt://127.0.0.1:${running.port}`,
    port: running.port,
    broker: running.broker,
    stats: () => running.broker.stats(),
    close: () => running.close(),
  };
}


/** An mqtt.js client that never reconnects by itself (tests decide when to reconnect). */
export async function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return (await connectWithInbox(url, options)).client;
}

/** Connects with an Inbox attached before CONNACK, so messages sent right after it (a resumed session's queue) are caught. */
export async function connectWithInbox(url: string, options: IClientOptions = {}): Promise<{ client: MqttClient; inbox: Inbox }> {
  const v3 = options.protocolVersion === 3 ? { protocolId: 'MQIsdp' as const } : {};
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, ...v3, ...options });
  const inbox = new Inbox(client);
  // Settles on every outcome: a connect timeout only emits 'close', which would hang connectAsync.
  await new Promise<void>((resolve, reject) => {
    const fail = (err?: Error): void => {
      client.end(true);
      reject(err ?? new Error(`connection to ${url} closed before CONNACK`));
    };
    client.once('connect', () => {
      client.off('error', fail);
      client.off('close', fail);
      resolve();
    });
    client.once('error', fail);
    client.once('close', fail);
  });
  return { client, inbox };
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties: Record<string, unknown> | undefined;
}

/** Messages a client receives, in order, with a wait for the next ones. */
export class Inbox {
  readonly messages: Received[] = [];
  private read = 0;

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: packet.properties as Record<string, unknown> | undefined });
    });
  }

  /** The next unread message; rejects after timeoutMs. */
  async next(timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length <= this.read) {
      if (Date.now() > deadline) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.messages[this.read++];
  }

  /** Waits until `count` messages in total have arrived. */
  async waitCount(count: number, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`got ${this.messages.length} of ${count} messages within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.messages;
  }
}
