import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectClient } from '../../helpers/broker-harness.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ workers: 2 });
});
afterAll(async () => {
  await cluster?.close();
});

describe('smoke', () => {
  it('starts', async () => {
    expect(cluster.pids().length).toBe(2);
    const a = await connectClient(cluster.url);
    const b = await connectClient(cluster.url);
    await a.subscribeAsync('x/#', { qos: 1 });
    const got = new Promise<string>((resolve) => a.on('message', (t) => resolve(t)));
    await b.publishAsync('x/1', 'hi', { qos: 1 });
    expect(await got).toBe('x/1');
    await a.endAsync();
    await b.endAsync();
  });
});
