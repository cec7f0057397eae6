// The package as a user gets it: packed (npm pack, the "files" of package.json), installed into an
// empty project, then run with `npx starling-mqtt` (a bin named as the package, so npx outside a
// clone runs ours, not an unrelated registry package), embedded from TypeScript with the shipped
// declarations, and a plugin typed against them.
// What would make these fail: the "starling-mqtt" bin removed (npx finds nothing); "files" leaving
// out dist/ (the bin reports dist/ missing) or the .d.ts files (tsc: no declaration file);
// "types" pointing elsewhere; an exported type renamed (BrokerHooks, StarlingPlugin, ClientInfo).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const project = mkdtempSync(join(tmpdir(), 'starling-pkg-'));

beforeAll(async () => {
  // `npm test` builds dist/ first (pretest); the pack takes what is there, as a publish would after prepare.
  if (!existsSync(join(ROOT, 'dist/index.d.ts'))) throw new Error('dist/ is not built: run npm run build');
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', project], { cwd: ROOT });
  const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error('npm pack wrote no tarball');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'embedder', version: '1.0.0', type: 'module', private: true }));
  await run('npm', ['install', `./${tarball}`, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: project, timeout: 180_000 });
}, 240_000);

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('npx starling-mqtt (and npx starling) run the broker CLI', async () => {
    for (const bin of ['starling-mqtt', 'starling']) {
      const { stdout } = await run('npx', ['--no-install', bin, '--help'], { cwd: project });
      expect(stdout).toMatch(/^usage: starling \[options\]/);
    }
  });

  it('embeds from TypeScript with the shipped declarations, plugin types included, and runs', async () => {
    writeFileSync(
      join(project, 'embed.ts'),
      `import { startBroker, type BrokerHooks, type ClientInfo, type StarlingPlugin } from 'starling-mqtt';
const seen: string[] = [];
const audit: StarlingPlugin = () => {
  const hooks: BrokerHooks = { connected: (client: ClientInfo) => void seen.push(client.clientId) };
  return hooks;
};
const running = await startBroker({ port: 0, logLevel: 'silent', sysInterval: 0 }, undefined, { hooks: audit });
// @ts-expect-error: the declarations are precise (a port is a number)
const wrong: string = running.port;
console.log(JSON.stringify({ port: typeof running.port, wrong: typeof wrong }));
await running.close();
`,
    );
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['embed.ts'] }));
    // Type-checks against node_modules/starling-mqtt/dist/*.d.ts (skipLibCheck off: they must be valid too).
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).catch((err: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${err.stdout ?? String(err)}`);
    });
    const js = join(project, 'embed.mjs');
    writeFileSync(js, `import { startBroker } from 'starling-mqtt';\nconst r = await startBroker({ port: 0, logLevel: 'silent', sysInterval: 0 });\nconsole.log(JSON.stringify({ port: typeof r.port }));\nawait r.close();\n`);
    const { stdout } = await run(process.execPath, [js], { cwd: project });
    expect(JSON.parse(stdout.trim())).toEqual({ port: 'number' });
  });
});
