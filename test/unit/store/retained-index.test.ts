import { describe, expect, it } from 'vitest';
import { RetainedIndex } from '../../../src/store/retained-index.js';
import { referenceMatch } from '../../helpers/reference-match.js';
import { mulberry32 as rng } from '../../helpers/prng.js';


function matched(index: RetainedIndex<number>, filter: string): string[] {
  const out: string[] = [];
  index.match(filter, (topic) => out.push(topic));
  return out.sort();
}


describe('RetainedIndex', () => {
  it('set/get/delete/size, replacing a topic keeps one entry', () => {
    const index = new RetainedIndex<number>();
    index.set('a/b', 1);
    index.set('a/b', 2);
    index.set('a', 3);
    expect(index.size).toBe(2);
    expect(index.get('a/b')).toBe(2);
    expect(index.delete('a/b')).toBe(true);
    expect(index.delete('a/b')).toBe(false);
    expect(index.get('a/b')).toBeUndefined();
    expect(index.get('a')).toBe(3);
    expect(index.size).toBe(1);
  });

  it("matches '+' and '#', with '#' covering the parent level [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1] [MQTT-4.7.1-3] [v5:MQTT-4.7.1-2]", () => {
    const index = new RetainedIndex<number>();
    for (const t of ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport/', 'sport//x', '/finance', 'other']) index.set(t, 1);
    expect(matched(index, 'sport/#')).toEqual(['sport', 'sport/', 'sport//x', 'sport/tennis', 'sport/tennis/player1']);
    expect(matched(index, 'sport/+')).toEqual(['sport/', 'sport/tennis']);
    expect(matched(index, '+/+')).toEqual(['/finance', 'sport/', 'sport/tennis']);
    expect(matched(index, '+')).toEqual(['other', 'sport']);
    expect(matched(index, 'sport/tennis')).toEqual(['sport/tennis']);
    expect(matched(index, 'nothing')).toEqual([]);
  });

  it("does not match '$' topics with filters starting with a wildcard [MQTT-4.7.2-1]", () => {
    const index = new RetainedIndex<number>();
    for (const t of ['$SYS/uptime', '$SYS', 'a/$b', 'x']) index.set(t, 1);
    expect(matched(index, '#')).toEqual(['a/$b', 'x']);
    expect(matched(index, '+/uptime')).toEqual([]);
    expect(matched(index, '+')).toEqual(['x']);
    expect(matched(index, '$SYS/#')).toEqual(['$SYS', '$SYS/uptime']);
    expect(matched(index, '$SYS/+')).toEqual(['$SYS/uptime']);
    expect(matched(index, 'a/+')).toEqual(['a/$b']);
  });

  it('prunes nodes on delete', () => {
    const index = new RetainedIndex<number>();
    for (const t of ['a/b/c', 'a/b', 'a//d', '$SYS/x']) index.set(t, 1);
    for (const t of ['a/b', 'a/b/c', 'a//d', '$SYS/x']) index.delete(t);
    expect(index.nodeCount).toBe(0);
    expect(index.size).toBe(0);
  });

  for (const seed of [7, 8]) {
    it(`agrees with a brute-force scan on random topics and filters (seed ${seed})`, () => {
      const r = rng(seed);
      const words = ['a', 'b', 'c', '', '$SYS'];
      const pick = () => words[Math.floor(r() * words.length)];
      const index = new RetainedIndex<number>();
      const live = new Map<string, number>();
      for (let i = 0; i < 3000; i++) {
        const n = 1 + Math.floor(r() * 4);
        const topic = Array.from({ length: n }, pick).join('/');
        if (r() < 0.7) {
          index.set(topic, i);
          live.set(topic, i);
        } else {
          index.delete(topic);
          live.delete(topic);
        }
      }
      expect(index.size).toBe(live.size);
      for (let i = 0; i < 1500; i++) {
        const n = 1 + Math.floor(r() * 4);
        const levels: string[] = [];
        for (let j = 0; j < n; j++) {
          const x = r();
          levels.push(j === n - 1 && x < 0.2 ? '#' : x < 0.45 ? '+' : pick());
        }
        const filter = levels.join('/');
        const got: Array<[string, number]> = [];
        index.match(filter, (topic, value) => got.push([topic, value]));
        const expected = [...live].filter(([topic]) => referenceMatch(filter, topic));
        expect(got.sort(), filter).toEqual(expected.sort());
      }
    });
  }

  it("walks only matching branches: 'a/b/+/x' over 100,000 retained topics touches few nodes", () => {
    const index = new RetainedIndex<number>();
    for (let i = 0; i < 100_000; i++) index.set(`${i % 2 ? 'a' : 'z'}/${i % 200 === 1 ? 'b' : `b${i % 97}`}/${i}/${i % 3 ? 'x' : 'y'}`, i);
    expect(index.size).toBe(100_000);
    const expected = [];
    for (let i = 0; i < 100_000; i++) if (i % 200 === 1 && i % 3) expected.push(i);
    expect(expected.length).toBeGreaterThan(300);
    index.visitedNodes = 0;
    const got: number[] = [];
    index.match('a/b/+/x', (_t, v) => got.push(v));
    expect(got.sort((x, y) => x - y)).toEqual(expected);
    // 'a/b' holds 500 topics 'a/b/<i>/...'; the walk visits those branches and nothing else.
    expect(index.visitedNodes).toBeLessThan(2_000);
  });
});
