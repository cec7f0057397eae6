// Which enhanced authentication methods a config offers (--auth-methods, createAuthMethods).
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../../src/config.js';
import { createAuthMethods } from '../../../src/broker/auth/enhanced-auth.js';

describe('--auth-methods', () => {
  it('unset: SCRAM-SHA-256 is offered when --username/--password are set, nothing otherwise', () => {
    expect(defaultConfig.authMethods).toBeUndefined();
    expect([...createAuthMethods(defaultConfig).keys()]).toEqual([]);
    expect([...createAuthMethods(parseConfig(['--username', 'u', '--password', 'p'], {})).keys()]).toEqual(['SCRAM-SHA-256']);
  });

  it('"none" offers nothing even with credentials; the variable STARLING_AUTH_METHODS works too', () => {
    const config = parseConfig(['--username', 'u', '--password', 'p'], { STARLING_AUTH_METHODS: 'none' });
    expect(config.authMethods).toBe('none');
    expect(createAuthMethods(config).size).toBe(0);
  });

  it('names a built-in method explicitly (spaces around commas allowed)', () => {
    const config = parseConfig(['--username', 'u', '--password', 'p', '--auth-methods', ' SCRAM-SHA-256 '], {});
    expect([...createAuthMethods(config).keys()]).toEqual(['SCRAM-SHA-256']);
  });

  it('refuses an unknown method, and SCRAM-SHA-256 without a user to check it against', () => {
    expect(() => parseConfig(['--username', 'u', '--password', 'p', '--auth-methods', 'SCRAM-SHA-1'], {})).toThrow(/--auth-methods: 'SCRAM-SHA-1' is not one of SCRAM-SHA-256, none/);
    expect(() => parseConfig(['--auth-methods', 'SCRAM-SHA-256'], {})).toThrow(/--auth-methods SCRAM-SHA-256 needs --username\/--password/);
  });
});
