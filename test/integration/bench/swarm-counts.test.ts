// The swarm against a real Mosquitto: its counts must add up, and a lossy path must show as lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBenchArgs, type BenchOptions } from '../../../src/bench/options.js';
import { runBench } from '../../../src/bench/coordinator.js';
import { startMosquitto, type RunningMosquitto } from './mosquitto.js';
import { startLossyRelay } from './lossy-relay.js';

let mosq: RunningMosquitto;
beforeAll(async () => { mosq = await startMosquitto(); });
afterAll(async () => { await mosq?.stop(); });

function bench(args: string): Promise<Awaited<ReturnType<typeof runBench>>> {
  const opts = parseBenchArgs(args.split(' ')) as BenchOptions;
  return runBench(opts, { interrupt: new Promise(() => {}), progress: false });
}

describe('starling bench against Mosquitto', () => {
  it('QoS 1, one subscriber: received = sent, nothing lost or duplicated', async () => {
    const s = await bench(`--url ${mosq.url} --publishers 4 --subscribers 1 --topics shared --qos 1 --rate 200 --duration 1.5 --workers 2`);
    expect(s.connections.succeeded).toBe(5);
    expect(s.messages.sent).toBeGreaterThan(500);
    expect(s.messages.expected).toBe(s.messages.sent);
    expect(s.messages.received).toBe(s.messages.sent);
    expect(s.messages.lost).toBe(0);
    expect(s.messages.duplicated).toBe(0);
    expect(s.latency.count).toBe(s.messages.received);
    expect(s.latency.p50Ms).toBeGreaterThan(0);
  });

  it('QoS 2 fan-out to 3 subscribers: expected = 3 x sent, no duplicates', async () => {
    const s = await bench(`--url ${mosq.url} --publishers 2 --subscribers 3 --topics shared --qos 2 --rate 100 --duration 1.5 --workers 2`);
    expect(s.messages.sent).toBeGreaterThan(100);
    expect(s.messages.expected).toBe(3 * s.messages.sent);
    expect(s.messages.received).toBe(s.messages.expected);
    expect(s.messages.duplicated).toBe(0);
    expect(s.messages.lost).toBe(0);
  });

  it('pairs and wildcard layouts: each subscriber gets exactly what its filter matches', async () => {
    const pairs = await bench(`--url ${mosq.url} --publishers 3 --subscribers 5 --topics pairs --qos 1 --rate 100 --duration 1 --workers 2`);
    // Subscribers 0..4 listen to pairs 0,1,2,0,1: publishers 0 and 1 have two listeners each, publisher 2 one.
    expect(pairs.messages.expected).toBeGreaterThan(pairs.messages.sent);
    expect(pairs.messages.received).toBe(pairs.messages.expected);
    expect(pairs.messages.unexpected).toBe(0);
    const wild = await bench(`--url ${mosq.url} --publishers 3 --subscribers 2 --topics wildcard --qos 1 --rate 100 --duration 1 --workers 2`);
    expect(wild.messages.expected).toBe(2 * wild.messages.sent);
    expect(wild.messages.received).toBe(wild.messages.expected);
  });

  it('a relay that drops every 10th PUBLISH to the subscriber is reported as exactly that many lost', async () => {
    const relay = await startLossyRelay(mosq.port, 10);
    try {
      const s = await bench(`--url ${relay.url} --publishers 2 --subscribers 1 --topics shared --qos 0 --rate 200 --duration 1.5 --drain 1 --workers 2`);
      expect(relay.dropped()).toBeGreaterThan(10);
      expect(s.messages.lost).toBe(relay.dropped());
      expect(s.messages.received + s.messages.lost).toBe(s.messages.sent);
      expect(s.messages.duplicated).toBe(0);
    } finally {
      await relay.close();
    }
  });

  it('idle: holds the connections and reports broker RSS per connection from --broker-pid', async () => {
    const s = await bench(`idle --url ${mosq.url} --clients 300 --ramp 0 --duration 0.2 --broker-pid ${mosq.pid} --workers 2`);
    expect(s.connections.succeeded).toBe(300);
    expect(s.connections.successRate).toBe(1);
    expect(s.broker).not.toBeNull();
    expect(s.broker!.rssAfterBytes).toBeGreaterThan(s.broker!.rssBeforeBytes);
    expect(s.broker!.rssPerConnectionBytes).toBeGreaterThan(0);
  });

  it('connection-storm: reports connect rate and latency; a closed port fails every connection', async () => {
    const s = await bench(`connection-storm --url ${mosq.url} --clients 200 --workers 2`);
    expect(s.connections.succeeded).toBe(200);
    expect(s.connections.ratePerSec).toBeGreaterThan(0);
    expect(s.connections.latency.count).toBe(200);
    const dead = await bench(`connection-storm --url mqtt://127.0.0.1:1 --clients 5 --workers 1`);
    expect(dead.connections.succeeded).toBe(0);
    expect(dead.errors['ECONNREFUSED']).toBe(5);
  });
});
