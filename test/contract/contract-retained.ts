// RetainedStore section of the backend contract suite. Every topic carries a unique first or
// second level so a shared store needs no cleanup; wildcard results are filtered to this test's topics.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/store/types.js';
import { message, uniqueId, type ContractFixture } from './contract-helpers.js';

async function topicsMatching(fx: ContractFixture, filter: string, mine: (topic: string) => boolean): Promise<string[]> {
  const found: Message[] = await fx.a.retained.match(filter);
  return found.map((m) => m.topic).filter(mine).sort();
}

export function retainedContract(fx: () => ContractFixture): void {
  describe('RetainedStore', () => {
    it('set then match by exact topic returns the message with all its fields; count grows', async () => {
      const { retained } = fx().a;
      const p = uniqueId('ret');
      const before = await retained.count();
      const msg = message(`${p}/exact`, { retain: true, qos: 2, properties: { contentType: 'text/plain', userProperties: [['a', 'b']] } });
      retained.set(msg.topic, msg);
      await retained.flush();
      expect(await retained.match(msg.topic)).toEqual([msg]);
      expect(await retained.count()).toBe(before + 1);
    });

    it('a second set replaces the message of the topic; null clears it', async () => {
      const { a, b } = fx();
      const p = uniqueId('ret');
      const before = await a.retained.count();
      a.retained.set(`${p}/t`, message(`${p}/t`, { payload: Buffer.from('one'), retain: true }));
      a.retained.set(`${p}/t`, message(`${p}/t`, { payload: Buffer.from('two'), retain: true }));
      await a.retained.flush();
      const found = await b.retained.match(`${p}/t`);
      expect(found.map((m) => m.payload.toString())).toEqual(['two']);
      expect(await a.retained.count()).toBe(before + 1);
      a.retained.set(`${p}/t`, null);
      a.retained.set(`${p}/never-set`, null);
      await a.retained.flush();
      expect(await b.retained.match(`${p}/t`)).toEqual([]);
      expect(await a.retained.count()).toBe(before);
    });

    it("matches '+' (one level, empty included) and '#' (parent level and below) [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1] [MQTT-4.7.1-3] [v5:MQTT-4.7.1-2]", async () => {
      const f = fx();
      const p = uniqueId('ret');
      const topics = [p, `${p}/a`, `${p}/b`, `${p}/`, `${p}/a/x`, `${p}/a/y/z`, `${p}/b/x`];
      for (const t of topics) f.a.retained.set(t, message(t, { retain: true }));
      await f.a.retained.flush();
      const mine = (t: string) => t === p || t.startsWith(`${p}/`);
      expect(await topicsMatching(f, `${p}/#`, mine)).toEqual([...topics].sort());
      expect(await topicsMatching(f, `${p}/+`, mine)).toEqual([`${p}/`, `${p}/a`, `${p}/b`].sort());
      expect(await topicsMatching(f, `${p}/+/x`, mine)).toEqual([`${p}/a/x`, `${p}/b/x`]);
      expect(await topicsMatching(f, `${p}/a/#`, mine)).toEqual([`${p}/a`, `${p}/a/x`, `${p}/a/y/z`]);
      expect(await topicsMatching(f, `${p}/+/+/+`, mine)).toEqual([`${p}/a/y/z`]);
      expect(await topicsMatching(f, '+/a/x', mine)).toEqual([`${p}/a/x`]);
      expect(await topicsMatching(f, '#', mine)).toEqual([...topics].sort());
      expect(await topicsMatching(f, `${p}/c/#`, mine)).toEqual([]);
      for (const t of topics) f.a.retained.set(t, null);
      await f.a.retained.flush();
      expect(await topicsMatching(f, `${p}/#`, mine)).toEqual([]);
    });

    it("does not match '$' topics with filters starting with '+' or '#' [MQTT-4.7.2-1]", async () => {
      const f = fx();
      const p = uniqueId('ret');
      const dollar = `$${p}/x`;
      const plain = `${p}/x`;
      f.a.retained.set(dollar, message(dollar, { retain: true }));
      f.a.retained.set(plain, message(plain, { retain: true }));
      await f.a.retained.flush();
      const mine = (t: string) => t === dollar || t === plain;
      expect(await topicsMatching(f, '#', mine)).toEqual([plain]);
      expect(await topicsMatching(f, '+/x', mine)).toEqual([plain]);
      expect(await topicsMatching(f, `$${p}/#`, mine)).toEqual([dollar]);
      expect(await topicsMatching(f, `$${p}/+`, mine)).toEqual([dollar]);
      expect(await topicsMatching(f, dollar, mine)).toEqual([dollar]);
      f.a.retained.set(dollar, null);
      f.a.retained.set(plain, null);
      await f.a.retained.flush();
    });
  });
}
