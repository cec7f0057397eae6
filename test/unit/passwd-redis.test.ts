// `starling passwd --redis` argument parsing: which action, the prefix, and usage errors (one line each).
import { describe, expect, it } from 'vitest';
import { parseRedisArgs } from '../../src/passwd/redis.js';

const URL = 'redis://127.0.0.1:6379';

describe('starling passwd --redis arguments', () => {
  // Fails if a form is read as another (a -D taken for a password change, a password for a user).
  it.each([
    [['--redis', URL, 'alice'], { kind: 'set', user: 'alice', password: undefined }],
    [['--redis', URL, '-b', 'alice', 'pw'], { kind: 'set', user: 'alice', password: 'pw' }],
    [['-D', `--redis=${URL}`, 'alice'], { kind: 'delete', user: 'alice' }],
    [['--redis', URL, '-l'], { kind: 'list' }],
    [['--redis', URL, '--acl-file', '/etc/acl'], { kind: 'acl-set', file: '/etc/acl' }],
    [['--redis', URL, '--acl-clear'], { kind: 'acl-clear' }],
    [['--redis', URL, '--acl-show'], { kind: 'acl-show' }],
    [['--redis', URL, '--', '-odd'], { kind: 'set', user: '-odd', password: undefined }],
  ])('%j', (argv, action) => {
    expect(parseRedisArgs(argv, {})).toEqual({ url: URL, prefix: 'starling:', action });
  });

  // Fails if the tool wrote under another prefix than the broker reads (STARLING_REDIS_PREFIX).
  it('the prefix: --prefix, else STARLING_REDIS_PREFIX, else starling:', () => {
    expect(parseRedisArgs(['--redis', URL, '-l'], { STARLING_REDIS_PREFIX: 'c1:' }).prefix).toBe('c1:');
    expect(parseRedisArgs(['--redis', URL, '--prefix', 'c2:', '-l'], { STARLING_REDIS_PREFIX: 'c1:' }).prefix).toBe('c2:');
  });

  it.each([
    [['--redis', 'http://x', '-l'], /^--redis: 'http:\/\/x' is not a Redis URL/],
    [['--redis'], /^--redis needs a value$/],
    [['--redis', URL, '-D', '--acl-clear'], /go alone$/],
    [['--redis', URL, '-b', 'alice'], /^expected USER PASSWORD$/],
    [['--redis', URL, '--acl-show', 'x'], /^unexpected argument 'x'$/],
    [['--redis', URL, '-c', 'alice'], /^unknown option -c \(files only\)$/],
    [['--redis', URL, 'a:b'], /^user name 'a:b' contains ':'$/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseRedisArgs(argv, {})).toThrow(message);
  });
});
