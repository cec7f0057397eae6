// The library API: startBroker(config, backend, { hooks }) with hooks written in TypeScript (the
// exported types), after those of config.plugins; the secure default counts a plugin that
// authenticates; close() reaches the plugins' close hook; bad plugins are refused at start.
// What would make these fail: pluginHooks() dropping options.hooks or asking them before the
// module's; the exposure check ignoring (or not requiring) an authenticate hook; Broker.close not
// awaiting hooks.close(); loadPlugins accepting a module without a plugin.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startBroker, type BrokerHooks, type ClientInfo, type StarlingPlugin } from '../../../src/index.js';
import { ConfigError } from '../../../src/config.js';
import { PluginError } from '../../../src/broker/hooks/load.js';
import { silentLogger } from '../../../src/log.js';
import { connectWithInbox } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { Packet } from '../../../src/protocol/index.js';

const RULES = fileURLToPath(new URL('../../fixtures/plugins/rules-plugin.mjs', import.meta.url));
const base = { host: '127.0.0.1', port: 0, sysInterval: 0 } as const;

describe('startBroker({ hooks })', () => {
  it('hooks given in code are asked after the modules of config.plugins, and closed with the broker', async () => {
    const asked: string[] = [];
    let closed = false;
    // A factory, typed as plugin authors would type it.
    const audit: StarlingPlugin = ({ log }) => {
      log.debug('audit plugin made');
      const hooks: BrokerHooks = {
        authorizePublish(client: ClientInfo, message) {
          asked.push(`${client.username}:${message.topic}`);
          return message.topic !== 'audit/deny';
        },
        close: async () => {
          closed = true;
        },
      };
      return hooks;
    };
    const running = await startBroker({ ...base, plugins: [RULES] }, undefined, { logger: silentLogger(), hooks: audit });
    try {
      const { client } = await connectWithInbox(`mqtt://127.0.0.1:${running.port}`, { clientId: 'lib-1', username: 'lib', protocolVersion: 5 });
      const codes: number[] = [];
      client.on('packetreceive', (p) => {
        if (p.cmd === 'puback') codes.push((p as { reasonCode?: number }).reasonCode ?? 0);
      });
      await client.publishAsync('deny/x', 'x', { qos: 1 }).catch(() => undefined); // the module refuses: audit not asked
      await client.publishAsync('audit/deny', 'x', { qos: 1 }).catch(() => undefined); // the module allows, audit refuses
      await client.publishAsync('audit/ok', 'x', { qos: 1 });
      expect(codes).toEqual([0x87, 0x87, 0x10]);
      expect(asked).toEqual(['lib:audit/deny', 'lib:audit/ok']);
      client.end(true);
    } finally {
      await running.close();
    }
    expect(closed).toBe(true);
  });

  it('off loopback, only a plugin with an authenticate hook stands in for users (secure default)', async () => {
    await expect(startBroker({ ...base, host: '0.0.0.0' }, undefined, { logger: silentLogger(), hooks: { connected: () => undefined } })).rejects.toThrow(ConfigError);
    const running = await startBroker({ ...base, host: '0.0.0.0' }, undefined, { logger: silentLogger(), hooks: { authenticate: (c) => c.username === 'ok' } });
    try {
      const refused = await RawClient.open(running.port, 5);
      refused.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'anon' } as Packet);
      expect(((await refused.next('connack')) as unknown as { reasonCode: number }).reasonCode).toBe(0x87);
      const ok = await RawClient.connected(running.port, 'named', 5, { username: 'ok' } as Partial<Packet>);
      ok.destroy();
    } finally {
      await running.close();
    }
  });

  it('a module that cannot be loaded, or exports no plugin, is a PluginError naming it', async () => {
    await expect(startBroker({ ...base, plugins: ['/nonexistent/plugin.mjs'] }, undefined, { logger: silentLogger() })).rejects.toThrow(/cannot load \/nonexistent\/plugin\.mjs/);
    const noExport = fileURLToPath(new URL('../../helpers/wait.ts', import.meta.url));
    await expect(startBroker({ ...base, plugins: [noExport] }, undefined, { logger: silentLogger() })).rejects.toThrow(PluginError);
  });
});
