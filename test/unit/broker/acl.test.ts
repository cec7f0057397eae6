// The acl_file parser, the rule order (Mosquitto's), the subscribe checks and the per-client cache.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Acl, AclError } from '../../../src/broker/acl/acl.js';
import { parseAcl } from '../../../src/broker/acl/parse.js';
import { filterCovers, filtersIntersect } from '../../../src/broker/acl/filters.js';

function aclOf(text: string): Acl {
  const file = join(mkdtempSync(join(tmpdir(), 'starling-acl-')), 'acl');
  writeFileSync(file, text);
  return Acl.load(file);
}

const FILE = `# anonymous clients
topic read public/#
topic readwrite anon/+

user alice
topic readwrite a/#
topic deny a/secret
topic write out/alice
topic read in/alice

user bob
topic in/bob

pattern readwrite dev/%c/#
pattern read users/%u/inbox
`;

describe('ACL parser', () => {
  it('reads every form: anonymous section, user, topic with each access, pattern, comments', () => {
    const rules = parseAcl(FILE, 'f');
    expect(rules.ruleCount).toBe(9);
    expect(rules.anonymous?.map((r) => [r.access, r.filter])).toEqual([
      [1, 'public/#'],
      [3, 'anon/+'],
    ]);
    // Deny first, then the grants in file order.
    expect(rules.users.get('alice')?.map((r) => [r.access, r.filter])).toEqual([
      [0, 'a/secret'],
      [3, 'a/#'],
      [2, 'out/alice'],
      [1, 'in/alice'],
    ]);
    expect(rules.users.get('bob')?.map((r) => [r.access, r.filter])).toEqual([[3, 'in/bob']]);
    expect(rules.patterns.map((r) => [r.filter, r.usesClientId, r.usesUsername])).toEqual([
      ['dev/%c/#', true, false],
      ['users/%u/inbox', false, true],
    ]);
  });

  it('a filter with spaces is the rest of the line', () => {
    expect(parseAcl('topic read a b/c', 'f').anonymous?.[0]?.filter).toBe('a b/c');
  });

  it.each([
    ['bogus a/b', "f:1: unknown keyword 'bogus' (expected topic, pattern or user)"],
    ['topic', "f:1: 'topic' needs a topic filter"],
    ['\ntopic rw a/b', "f:2: 'rw' is not an access type (read, write, readwrite or deny)"],
    ['topic read a/#/b', "f:1: 'a/#/b' is not a valid topic filter"],
    ['user', "f:1: 'user' needs a username"],
    ['pattern deny', "f:1: 'pattern deny' needs a topic filter"],
  ])('%j is refused with one line naming file and line', (text, message) => {
    expect(() => parseAcl(text, 'f')).toThrow(new AclError(message));
  });

  it('a missing file is one line too', () => {
    expect(() => Acl.load('/nonexistent/acl')).toThrow(/^\/nonexistent\/acl: cannot read the ACL file \(ENOENT\)$/);
  });
});

describe('ACL decisions', () => {
  const acl = aclOf(FILE);

  it('anonymous clients get the rules before the first user line (and patterns without %u)', () => {
    const anon = acl.forClient('c1', undefined);
    expect(anon.canRead('public/x')).toBe(true);
    expect(anon.canPublish('public/x')).toBe(false);
    expect(anon.canPublish('anon/x')).toBe(true);
    expect(anon.canRead('a/x')).toBe(false);
    expect(anon.canRead('dev/c1/t')).toBe(true); // %c pattern
    expect(anon.canRead('users/undefined/inbox')).toBe(false); // a %u pattern never applies to anonymous
  });

  it('a user gets its own rules and not the anonymous ones; deny wins over a grant', () => {
    const alice = acl.forClient('c2', 'alice');
    expect(alice.canRead('a/b')).toBe(true);
    expect(alice.canPublish('a/b')).toBe(true);
    expect(alice.canRead('a/secret')).toBe(false);
    expect(alice.canPublish('a/secret')).toBe(false);
    expect(alice.canPublish('out/alice')).toBe(true);
    expect(alice.canRead('out/alice')).toBe(false); // write only
    expect(alice.canRead('in/alice')).toBe(true);
    expect(alice.canPublish('in/alice')).toBe(false); // read only
    expect(alice.canRead('public/x')).toBe(false); // the anonymous section is not hers
    expect(alice.canRead('users/alice/inbox')).toBe(true); // %u pattern
    expect(alice.canRead('users/bob/inbox')).toBe(false);
    expect(acl.forClient('c3', 'bob').canPublish('in/bob')).toBe(true); // access omitted: readwrite
  });

  it('a user without a section gets only the patterns; $SYS is never written', () => {
    const carol = acl.forClient('c4', 'carol');
    expect(carol.canRead('a/b')).toBe(false);
    expect(carol.canRead('dev/c4/x')).toBe(true);
    expect(aclOf('topic #\ntopic $SYS/#').forClient('x', undefined).canPublish('$SYS/broker/uptime')).toBe(false);
  });

  it("'#' does not reach $ topics; a '$SYS/#' rule does", () => {
    const c = aclOf('topic read #\nuser sys\ntopic read $SYS/#');
    expect(c.forClient('x', undefined).canRead('$SYS/broker/uptime')).toBe(false);
    expect(c.forClient('x', 'sys').canRead('$SYS/broker/uptime')).toBe(true);
    expect(c.forClient('x', undefined).canSubscribe('$SYS/#')).toBe(false);
    expect(c.forClient('x', 'sys').canSubscribe('$SYS/broker/+')).toBe(true);
  });

  it('with pattern rules, a username or client id holding + or # is denied', () => {
    const c = aclOf('pattern dev/%c/#');
    expect(c.forClient('a', undefined).canPublish('dev/a/x')).toBe(true);
    expect(c.forClient('+', undefined).canPublish('dev/+/x')).toBe(false);
    expect(c.forClient('a', 'x#').canPublish('dev/a/x')).toBe(false);
  });

  it('the user rules decide before the patterns (Mosquitto order)', () => {
    const c = aclOf('user u\ntopic read t/#\npattern deny t/%u');
    expect(c.forClient('x', 'u').canRead('t/u')).toBe(true);
    expect(c.forClient('x', 'v').canRead('t/v')).toBe(false);
  });

  it('an empty file allows nothing', () => {
    const c = aclOf('# nothing\n');
    expect(c.forClient('x', undefined).canRead('a')).toBe(false);
    expect(c.forClient('x', 'u').canSubscribe('#')).toBe(false);
  });

  it('SUBSCRIBE: allowed when a read rule can match, refused when none can or a deny covers it', () => {
    const alice = acl.forClient('c2', 'alice');
    expect(alice.canSubscribe('a/#')).toBe(true);
    expect(alice.canSubscribe('#')).toBe(true); // in part: delivery keeps the rest (canRead)
    expect(alice.canSubscribe('a/secret')).toBe(false);
    expect(alice.canSubscribe('out/alice')).toBe(false); // write only
    expect(alice.canSubscribe('b/#')).toBe(false);
    expect(alice.canSubscribe('$share/g/a/b')).toBe(true);
    expect(alice.canSubscribe('$share/g/b')).toBe(false);
  });

  it('reload: new rules, cached decisions dropped; a bad file keeps the old ones', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'starling-acl-')), 'acl');
    writeFileSync(file, 'topic read a');
    const c = Acl.load(file);
    const client = c.forClient('x', undefined);
    expect(client.canRead('a')).toBe(true);
    writeFileSync(file, 'topic read b');
    c.reload();
    expect(client.canRead('a')).toBe(false);
    expect(client.canRead('b')).toBe(true);
    writeFileSync(file, 'nonsense');
    expect(() => c.reload()).toThrow(AclError);
    expect(client.canRead('b')).toBe(true);
  });

  it('the cache is bounded: many topics still decided right', () => {
    const client = acl.forClient('c2', 'alice');
    for (let i = 0; i < 3000; i++) expect(client.canRead(`a/${i}`)).toBe(true);
    expect(client.canRead('a/secret')).toBe(false);
  });
});

describe('filter against filter', () => {
  it.each([
    ['a/#', '#', true],
    ['a/#', 'a', true],
    ['a/+', 'a/b/c', false],
    ['a/+', '+/b', true],
    ['a/b', 'a/c', false],
    ['#', '$SYS/x', false],
    ['$SYS/#', '+/x', false],
    ['+/+', '+/#', true],
  ])('%s and %s intersect: %s', (a, b, result) => {
    expect(filtersIntersect(a, b)).toBe(result);
    expect(filtersIntersect(b, a)).toBe(result);
  });

  it.each([
    ['a/#', 'a/b/c', true],
    ['a/#', 'a/#', true],
    ['a/#', 'a', true],
    ['a/+', 'a/#', false],
    ['a/+', 'a/+', true],
    ['a/b', 'a/+', false],
    ['#', '$SYS/#', false],
    ['#', '#', true],
    ['a/secret', 'a/#', false],
  ])('%s covers %s: %s', (outer, inner, result) => {
    expect(filterCovers(outer, inner)).toBe(result);
  });
});

describe('one decision per fan-out for clients with the same rules (canReadOnce)', () => {
  const memo = () => ({ aclKey: null as object | null, aclAllowed: false });

  it('clients of one section share it; another section, or none, decides for itself', () => {
    const acl = aclOf('user alice\ntopic read a/#\nuser bob\ntopic deny a/#\nuser carol\ntopic read a/#\n');
    const fan = memo();
    expect(acl.forClient('a1', 'alice').canReadOnce(fan, 'a/x')).toBe(true);
    expect(acl.forClient('a2', 'alice').canReadOnce(fan, 'a/x')).toBe(true);
    expect(fan.aclKey).not.toBeNull();
    expect(acl.forClient('b1', 'bob').canReadOnce(fan, 'a/x')).toBe(false);
    expect(acl.forClient('c1', 'carol').canReadOnce(fan, 'a/x')).toBe(true);
    expect(acl.forClient('anon', undefined).canReadOnce(fan, 'a/x')).toBe(false);
    expect(acl.forClient('nobody', 'nobody').canReadOnce(fan, 'a/x')).toBe(false);
  });

  it('with pattern rules every client decides for itself (%c differs)', () => {
    const acl = aclOf('pattern read clients/%c/#\n');
    const fan = memo();
    expect(acl.forClient('c1', undefined).canReadOnce(fan, 'clients/c1/x')).toBe(true);
    expect(acl.forClient('c2', undefined).canReadOnce(fan, 'clients/c1/x')).toBe(false);
    expect(acl.forClient('c1', 'u').canReadOnce(fan, 'clients/c1/x')).toBe(true);
  });

  it('after a reload the shared decision is made again under the new rules', () => {
    const acl = aclOf('topic read a/#\n');
    const first = memo();
    const client = acl.forClient('x', undefined);
    expect(client.canReadOnce(first, 'a/1')).toBe(true);
    writeFileSync(acl.file, 'topic deny a/#\n');
    acl.reload();
    expect(client.canReadOnce(first, 'a/1')).toBe(false);
  });
});

// --auth redis keeps the ACL as text (Acl.fromText): none = everything allowed, as without --acl-file.
describe('rules from text (Acl.fromText)', () => {
  // Fails if "no text" were parsed as an empty ACL (which allows nothing) or the open rules kept the
  // $SYS write ban an ACL has (a broker without an ACL has none).
  it('no text: everything allowed, $SYS publish and $ filters included; text later: its rules, after reload()', () => {
    let text: string | undefined;
    const acl = Acl.fromText('redis:acl', () => text);
    const client = acl.forClient('c', 'bob');
    expect(acl.ruleCount).toBe(0);
    expect(client.canRead('a/b')).toBe(true);
    expect(client.canPublish('a/b')).toBe(true);
    expect(client.canPublish('$SYS/x')).toBe(true);
    expect(client.canSubscribe('#')).toBe(true);
    expect(client.canSubscribe('$SYS/#')).toBe(true);
    expect(client.canReadOnce({ aclKey: null, aclAllowed: false }, 'a/b')).toBe(true);
    text = 'user bob\ntopic read a/#\n';
    acl.reload();
    expect(acl.ruleCount).toBe(1);
    expect(client.canRead('a/b')).toBe(true);
    expect(client.canPublish('a/b')).toBe(false);
    expect(client.canSubscribe('#')).toBe(true); // in part: delivery filters the rest
    expect(client.canSubscribe('b/#')).toBe(false);
    text = undefined;
    acl.reload();
    expect(client.canPublish('a/b')).toBe(true);
  });

  // Fails if a bad text replaced the rules (or opened them) instead of throwing and keeping them.
  it('bad text: AclError naming the source and the line, the old rules stay', () => {
    let text: string | undefined = 'topic read a/#\n';
    const acl = Acl.fromText('redis:acl', () => text);
    expect(() => Acl.fromText('redis:acl', () => 'topic\n')).toThrow(/^redis:acl:1: 'topic' needs a topic filter$/);
    text = 'topic read a/#\nbogus\n';
    expect(() => acl.reload()).toThrow(AclError);
    expect(() => acl.reload()).toThrow(/^redis:acl:2: unknown keyword 'bogus'/);
    const client = acl.forClient('c', undefined);
    expect(client.canRead('a/1')).toBe(true);
    expect(client.canRead('b/1')).toBe(false);
  });
});
