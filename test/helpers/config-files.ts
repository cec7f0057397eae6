// Config files for config tests: each written in its own temporary directory (relative paths in a
// file resolve against it), all removed when the test file ends.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { ConfigError } from '../../src/config.js';

/** A writer of config files under one temporary directory, removed after the test file. */
export function configFiles(name: string): { dir: string; configFile(text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), `starling-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  return {
    dir,
    /** Writes a config file in its own directory and returns its path. */
    configFile(text: string): string {
      const sub = join(dir, `c${++files}`);
      mkdirSync(sub);
      const path = join(sub, 'starling.yaml');
      writeFileSync(path, text);
      return path;
    },
  };
}

/** The ConfigError's message, or a failure when there is none (or another error is thrown). */
export function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('no ConfigError');
}
