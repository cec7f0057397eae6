#!/usr/bin/env node
// npm `pretest`: makes sure the system tools the integration tests start are installed
// (redis-server, redis-sentinel, mosquitto, its clients, Python paho-mqtt, Chromium for the browser test). A fast
// no-op when they are.
// As root with apt-get, installs what is missing; otherwise prints the one command to run.
import { execFileSync, spawnSync } from 'node:child_process';

const APT_PACKAGES = ['redis-server', 'redis-sentinel', 'mosquitto', 'mosquitto-clients', 'python3-paho-mqtt', 'chromium'];

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function hasPaho() {
  return spawnSync('/usr/bin/python3', ['-c', 'import paho.mqtt'], { stdio: 'ignore' }).status === 0;
}

function missing() {
  const gone = ['redis-server', 'redis-sentinel', 'mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'chromium'].filter((c) => !hasCommand(c));
  if (!hasPaho()) gone.push('python3-paho-mqtt (for /usr/bin/python3)');
  return gone;
}

const before = missing();
if (before.length === 0) process.exit(0);

const installCommand = `apt-get update && apt-get install -y ${APT_PACKAGES.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !hasCommand('apt-get')) {
  console.error(`ensure-test-deps: missing ${before.join(', ')}; install them with: sudo ${installCommand}`);
  process.exit(1);
}

console.error(`ensure-test-deps: installing ${before.join(', ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', ...APT_PACKAGES], { stdio: 'inherit', env });
} catch {
  console.error(`ensure-test-deps: installation failed; run: ${installCommand}`);
  process.exit(1);
}
const after = missing();
if (after.length > 0) {
  console.error(`ensure-test-deps: still missing ${after.join(', ')}`);
  process.exit(1);
}
