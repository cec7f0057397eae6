// Topic name and filter rules (spec 4.7).
import { describe, expect, it } from 'vitest';
import { isValidTopicFilter, isValidTopicName, parseSharedSubscription, ProtocolError, validateTopicFilter, validateTopicName } from '../../../src/protocol/index.js';

function specOf(fn: () => void): [string, number] | undefined {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(ProtocolError); return [(e as ProtocolError).specId, (e as ProtocolError).reasonCode]; }
  return undefined;
}

describe('topic names', () => {
  it.each(['a', 'a/b', '/', 'a//b', '$SYS/x', '日本/é', ' '])('%j is valid', (t) => {
    expect(isValidTopicName(t)).toBe(true);
    expect(specOf(() => validateTopicName(t))).toBeUndefined();
  });
  it.each(['a/+', '+', '#', 'a/#', 'a+b'])('%j has a wildcard [MQTT-3.3.2-2]', (t) => {
    expect(isValidTopicName(t)).toBe(false);
    expect(specOf(() => validateTopicName(t))).toEqual(['MQTT-3.3.2-2', 0x90]);
  });
  it('empty is invalid [MQTT-4.7.3-1]', () => {
    expect(specOf(() => validateTopicName(''))).toEqual(['MQTT-4.7.3-1', 0x90]);
  });
  it('U+0000 is invalid [MQTT-4.7.3-2]', () => {
    expect(specOf(() => validateTopicName('a\u0000b'))).toEqual(['MQTT-4.7.3-2', 0x90]);
  });
  it('more than 65535 UTF-8 bytes is invalid [MQTT-4.7.3-3]', () => {
    expect(specOf(() => validateTopicName('é'.repeat(32_768)))).toEqual(['MQTT-4.7.3-3', 0x90]);
    expect(isValidTopicName('a'.repeat(65_535))).toBe(true);
  });
});

describe('topic filters', () => {
  it.each(['#', '+', 'a/#', 'a/+/b', '+/+', '/+', '+/', 'a//#', '$share/g/a/#', 'a/b'])('%j is valid', (f) => {
    expect(isValidTopicFilter(f)).toBe(true);
  });
  it.each(['a#', 'a/#/b', '#/', 'a/b#', '##'])("%j misplaces '#' [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1]", (f) => {
    expect(specOf(() => validateTopicFilter(f))).toEqual(['v3:MQTT-4.7.1-2 v5:MQTT-4.7.1-1', 0x8f]);
  });
  it.each(['a+', '+a', 'a/b+/c', '++'])("%j misplaces '+' [v3:MQTT-4.7.1-3] [v5:MQTT-4.7.1-2]", (f) => {
    expect(specOf(() => validateTopicFilter(f))).toEqual(['v3:MQTT-4.7.1-3 v5:MQTT-4.7.1-2', 0x8f]);
  });
  it('empty is invalid [MQTT-4.7.3-1]', () => {
    expect(specOf(() => validateTopicFilter(''))).toEqual(['MQTT-4.7.3-1', 0x8f]);
    expect(isValidTopicFilter('')).toBe(false);
  });
});

describe('shared subscriptions (MQTT 5 4.8.2)', () => {
  it.each([
    ['$share/g/a/#', 'g', 'a/#'],
    ['$share/group-1/+', 'group-1', '+'],
    ['$share/g//x', 'g', '/x'],
    ['$share/g/$SYS/#', 'g', '$SYS/#'],
  ])('%j splits into ShareName %j and filter %j', (s, shareName, filter) => {
    expect(parseSharedSubscription(s)).toEqual({ shareName, filter });
  });
  it.each(['$share//a', '$share/g', '$share/g/', '$share/+/a', '$share/g+/a', '$share/#/a', '$share/g#/a', '$share/g/a#', '$share/g/a/#/b'])(
    '%j is invalid: ShareName of 1+ characters without / + #, then / and a valid filter [MQTT-4.8.2-1, MQTT-4.8.2-2]',
    (s) => {
      expect(parseSharedSubscription(s)).toBeNull();
    },
  );
  it('a filter not starting with $share/ is not shared', () => {
    expect(parseSharedSubscription('$shared/g/a')).toBeNull();
    expect(parseSharedSubscription('a/$share/g/b')).toBeNull();
  });
});
