// The CLI as users run it: a real process, SIGINT mid-run, --json output, one-line flag errors.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError, parseBenchArgs } from '../../../src/bench/options.js';
import { startMosquitto, type RunningMosquitto } from './mosquitto.js';

const MAIN = fileURLToPath(new URL('../../../src/bench/main.ts', import.meta.url));

let mosq: RunningMosquitto;
beforeAll(async () => { mosq = await startMosquitto(); });
afterAll(async () => { await mosq?.stop(); });

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the bench CLI; `onStderr` sees stderr as it arrives (to act mid-run). */
function runCli(args: string[], onStderr?: (soFar: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; onStderr?.(stderr, child); });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('starling bench CLI', () => {
  it('SIGINT mid-run stops cleanly and prints what was measured so far', async () => {
    let signalled = false;
    const started = Date.now();
    const run = await runCli(['pairs', '--url', mosq.url, '--publishers', '2', '--subscribers', '2', '--rate', '100', '--duration', '60', '--workers', '2'], (soFar, child) => {
      if (!signalled && soFar.includes('publishing for')) { signalled = true; child.kill('SIGINT'); }
    });
    expect(signalled).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('INTERRUPTED');
    expect(run.stdout).toMatch(/QoS 0 +sent \d/);
    expect(run.stdout).toContain('connections 4/4 ok');
  });

  it('--json prints a summary that parses, with the counts adding up', async () => {
    const run = await runCli(['latency', '--url', mosq.url, '--publishers', '2', '--subscribers', '2', '--duration', '1', '--workers', '1', '--json']);
    expect(run.code).toBe(0);
    const s = JSON.parse(run.stdout);
    expect(s.recipe).toBe('latency');
    expect(s.config.ratePerPublisher).toBe(100);
    expect(s.messages.sent).toBeGreaterThan(50);
    expect(s.messages.received).toBe(s.messages.expected);
    expect(s.latency.p99Ms).toBeGreaterThan(0);
    expect(typeof s.swarm.cpuPercentOfCores).toBe('number');
  });

  it('a bad flag exits 2 with one line naming it', async () => {
    const run = await runCli(['--url', mosq.url, '--qos', '3']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(['starling bench: --qos: expected an integer from 0 to 2, got "3"']);
  });
});

describe('bench option parsing', () => {
  const bad = (args: string): string => {
    try { parseBenchArgs(args.split(' ')); } catch (err) { if (err instanceof OptionError) return err.message; throw err; }
    throw new Error('parsed');
  };
  it('names the flag in each error', () => {
    expect(bad('--url mqtt://127.0.0.1:1 --frobnicate 1')).toMatch(/^unknown flag "--frobnicate"/);
    expect(bad('--url http://127.0.0.1:1')).toMatch(/^--url: scheme must be/);
    expect(bad('--url tcp://127.0.0.1:1')).toMatch(/^--url: scheme must be/);
    expect(bad('--url wss://127.0.0.1:1 --ca')).toMatch(/^--ca: needs a file/);
    expect(bad('--publishers 2')).toMatch(/^--url: required/);
    expect(bad('--url mqtt://127.0.0.1:1 --payload 8')).toMatch(/^--payload:/);
    expect(bad('--url mqtt://127.0.0.1:1 --protocol 3')).toMatch(/^--protocol:/);
    expect(bad('fan-sideways --url mqtt://127.0.0.1:1')).toMatch(/^unknown recipe/);
  });
  it('accepts wss:// with a CA file for a test certificate', () => {
    expect(parseBenchArgs(['pairs', '--url', 'wss://127.0.0.1:8081/mqtt', '--ca', '/tmp/ca.pem'])).toMatchObject({ url: 'wss://127.0.0.1:8081/mqtt', ca: '/tmp/ca.pem' });
  });
  it('applies recipe defaults and lets flags override them', () => {
    const o = parseBenchArgs(['qos1-pairs', '--url', 'ws://127.0.0.1:8080/mqtt', '--publishers', '5', '--protocol', '5']);
    expect(o).toMatchObject({ recipe: 'qos1-pairs', publishers: 5, subscribers: 50, qos: 1, inflight: 10, topics: 'pairs', protocolVersion: 5, payloadBytes: 64 });
  });
});
