import { describe, expect, it } from 'vitest';
import { topicMatchesFilter } from '../../../src/broker/topic-match.js';
import { TopicTree } from '../../../src/broker/topic-tree.js';
import { referenceMatch } from '../../helpers/reference-match.js';
import { mulberry32 as rng } from '../../helpers/prng.js';


function matches(tree: TopicTree<number>, topic: string): string[] {
  const out: string[] = [];
  tree.match(topic, (key, _value, filter) => out.push(`${filter}|${key}`));
  return out.sort();
}

// (filter, topic, matches?) from the examples of MQTT 3.1.1 and 5.0 section 4.7, plus edge cases.
const table: Array<[string, string, boolean]> = [
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/#', 'sport', true],
  ['#', 'sport/tennis', true],
  ['#', '/', true],
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+/tennis/#', 'sport/tennis/player1', true],
  ['+/tennis/#', 'sport/tennis', true],
  ['sport/+/player1', 'sport/tennis/player1', true],
  ['sport/+/player1', 'sport//player1', true],
  ['a//b', 'a//b', true],
  ['a//b', 'a/b', false],
  ['a/+/b', 'a//b', true],
  ['a/b', 'a/b/', false],
  ['a/b/', 'a/b/', true],
  ['+', '', true],
  ['Sport', 'sport', false],
  ['#', '$SYS/monitor/Clients', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['$SYS/#', '$SYS/monitor/Clients', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['$SYS/#', '$SYS', true],
  ['$SYS', '$SYS', true],
  ['+', '$SYS', false],
  ['+/#', '$foo/bar', false],
  ['$foo/+', '$foo/bar', true],
  ['a/$b', 'a/$b', true],
  ['a/+', 'a/$b', true],
  ['a/#', 'a/$b', true],
];

describe('TopicTree matching', () => {
  for (const [filter, topic, expected] of table) {
    const tag = topic.startsWith('$') && /^[+#]/.test(filter) ? ' [MQTT-4.7.2-1]' : ' [MQTT-4.7.1]';
    it(`'${filter}' ${expected ? 'matches' : 'does not match'} '${topic}'${tag}`, () => {
      expect(referenceMatch(filter, topic)).toBe(expected);
      expect(topicMatchesFilter(topic, filter)).toBe(expected);
      const tree = new TopicTree<number>();
      tree.add(filter, 'c1', 1);
      expect(matches(tree, topic)).toEqual(expected ? [`${filter}|c1`] : []);
    });
  }

  it('visits a key once per matching filter when its filters overlap (the broker dedupes per key)', () => {
    const tree = new TopicTree<number>();
    tree.add('a/b', 'c1', 1);
    tree.add('a/+', 'c1', 2);
    tree.add('#', 'c1', 3);
    tree.add('a/#', 'c2', 4);
    tree.add('b/#', 'c3', 5);
    const seen: Array<[string, number, string]> = [];
    tree.match('a/b', (key, value, filter) => seen.push([key, value, filter]));
    expect(seen.sort((x, y) => x[1] - y[1])).toEqual([
      ['c1', 1, 'a/b'],
      ['c1', 2, 'a/+'],
      ['c1', 3, '#'],
      ['c2', 4, 'a/#'],
    ]);
  });
});

describe('TopicTree add/remove', () => {
  it('add returns true only on the 0 -> 1 transition of a filter, and replaces an existing key', () => {
    const tree = new TopicTree<string>();
    expect(tree.add('a/+', 'c1', 'x')).toBe(true);
    expect(tree.add('a/+', 'c2', 'y')).toBe(false);
    expect(tree.add('a/+', 'c1', 'z')).toBe(false);
    expect(tree.get('a/+', 'c1')).toBe('z');
    expect(tree.size).toBe(2);
    expect(tree.filterCount).toBe(1);
    expect(tree.hasFilter('a/+')).toBe(true);
    expect(tree.hasFilter('a')).toBe(false);
    expect(tree.hasFilter('a/#')).toBe(false);
  });

  it('remove returns true only on the 1 -> 0 transition, false when nothing was there', () => {
    const tree = new TopicTree<string>();
    tree.add('a/b', 'c1', 'x');
    tree.add('a/b', 'c2', 'y');
    expect(tree.remove('a/b', 'nobody')).toBe(false);
    expect(tree.remove('a/c', 'c1')).toBe(false);
    expect(tree.remove('a', 'c1')).toBe(false);
    expect(tree.remove('a/b', 'c1')).toBe(false);
    expect(tree.hasFilter('a/b')).toBe(true);
    expect(tree.remove('a/b', 'c2')).toBe(true);
    expect(tree.remove('a/b', 'c2')).toBe(false);
    expect(tree.hasFilter('a/b')).toBe(false);
    expect(tree.get('a/b', 'c2')).toBeUndefined();
  });

  it('keeps a prefix filter alive while a longer filter is pruned, and the reverse', () => {
    const tree = new TopicTree<number>();
    tree.add('a', 'c1', 1);
    tree.add('a/b/c', 'c1', 2);
    tree.remove('a/b/c', 'c1');
    expect(tree.nodeCount).toBe(1);
    expect(matches(tree, 'a')).toEqual(['a|c1']);
    tree.add('a/b/c', 'c1', 2);
    tree.remove('a', 'c1');
    expect(tree.nodeCount).toBe(3);
    expect(matches(tree, 'a/b/c')).toEqual(['a/b/c|c1']);
  });

  it('prunes every node once all entries are removed (memory does not grow with churn)', () => {
    const tree = new TopicTree<number>();
    const filters = ['a/b/c', 'a/+/c', 'a/#', '#', '+', '+/+/#', '$SYS/x', 'a//b', '/', 'x/y/z/w'];
    for (let round = 0; round < 3; round++) {
      for (const f of filters) for (const k of ['c1', 'c2']) tree.add(f, k, round);
      expect(tree.filterCount).toBe(filters.length);
      expect(tree.size).toBe(filters.length * 2);
      for (const f of filters) for (const k of ['c2', 'c1']) tree.remove(f, k);
      expect(tree.size).toBe(0);
      expect(tree.filterCount).toBe(0);
      expect(tree.nodeCount).toBe(0);
    }
  });
});


const WORDS = ['a', 'b', 'c', '', '$SYS', '$x'];

function randomTopic(r: () => number): string {
  const n = 1 + Math.floor(r() * 4);
  const levels: string[] = [];
  for (let i = 0; i < n; i++) levels.push(WORDS[Math.floor(r() * WORDS.length)]);
  return levels.join('/');
}

function randomFilter(r: () => number): string {
  const n = 1 + Math.floor(r() * 4);
  const levels: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    if (i === n - 1 && x < 0.2) levels.push('#');
    else if (x < 0.45) levels.push('+');
    else levels.push(WORDS[Math.floor(r() * WORDS.length)]);
  }
  return levels.join('/');
}

describe('TopicTree against a brute-force reference', () => {
  for (const seed of [1, 2, 3]) {
    it(`agrees with the reference on random filters and topics, with churn (seed ${seed})`, () => {
      const r = rng(seed);
      const tree = new TopicTree<number>();
      const live = new Map<string, number>(); // `${filter}|${key}` -> value
      for (let i = 0; i < 3000; i++) {
        const filter = randomFilter(r);
        const key = `c${Math.floor(r() * 20)}`;
        if (r() < 0.7) {
          tree.add(filter, key, i);
          live.set(`${filter}|${key}`, i);
        } else {
          tree.remove(filter, key);
          live.delete(`${filter}|${key}`);
        }
      }
      expect(tree.size).toBe(live.size);
      for (let i = 0; i < 2000; i++) {
        const topic = randomTopic(r);
        const expected = [...live.keys()].filter((fk) => referenceMatch(fk.slice(0, fk.lastIndexOf('|')), topic)).sort();
        expect(matches(tree, topic), topic).toEqual(expected);
        for (const fk of expected) expect(topicMatchesFilter(topic, fk.slice(0, fk.lastIndexOf('|'))), fk).toBe(true);
      }
      for (const fk of live.keys()) tree.remove(fk.slice(0, fk.lastIndexOf('|')), fk.slice(fk.lastIndexOf('|') + 1));
      expect(tree.nodeCount).toBe(0);
      expect(tree.filterCount).toBe(0);
    });
  }
});

describe('topicMatchesFilter against a brute-force reference', () => {
  it('agrees with the reference on 20,000 random (filter, topic) pairs', () => {
    const r = rng(99);
    for (let i = 0; i < 20_000; i++) {
      const filter = randomFilter(r);
      const topic = randomTopic(r);
      expect(topicMatchesFilter(topic, filter), `${filter} ~ ${topic}`).toBe(referenceMatch(filter, topic));
    }
  });
});
