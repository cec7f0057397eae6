// `starling --config FILE`: a YAML file whose keys are the flag names (max-inflight: 20), plus
// `listeners:` and `plugins:` lists. `listeners:` may also be the --listeners flag's URL list (a
// string), with the tls-* keys of the --tls-* flags for its mqtts/wss listeners. Values are checked by the same converters as flags (config.ts
// convert), so one rule set serves flags, STARLING_* variables and the file. Every error is one
// ConfigError starting FILE:LINE. Relative paths in the file are relative to the file's directory.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { ConfigError, convert, OPTIONS, parseConfig, type BrokerConfig, type ListenerConfig, type Option } from './config.js';
import { readListeners, type FileListener } from './config-listeners.js';
import { isListenerFlag, LISTENER_FLAGS, type ListenerFlagValues } from './listener-flags.js';

/** The environment variable naming a config file when --config is not given. */
export const CONFIG_ENV = 'STARLING_CONFIG';

/** Where a value sits, for error lines: `FILE:LINE`. */
export interface Place {
  file: string;
  lineOf(node: Node | null | undefined): number;
}

/** The --config path from argv (wins) or STARLING_CONFIG; undefined: no file. */
export function configPath(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      const value = argv[i + 1];
      if (value === undefined || value === '') throw new ConfigError('--config: needs a value');
      return value;
    }
    if (argv[i].startsWith('--config=')) {
      const value = argv[i].slice('--config='.length);
      if (value === '') throw new ConfigError('--config: needs a value');
      return value;
    }
  }
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** The whole config: defaults < file < STARLING_* < flags. Throws ConfigError or HelpRequested. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const path = configPath(argv, env);
  const file: ConfigFile = path === undefined ? { values: {}, listeners: [], listenerFlags: new Map() } : readConfigFile(path);
  // The file's listeners are one more file value: a flag or variable setting them wins.
  const values = file.listeners.length > 0 ? { ...file.values, listeners: file.listeners as ListenerConfig[] } : file.values;
  const config = parseConfig(argv, env, values, file.listenerFlags);
  // A listener without a host listens where the main listener does (--host may come from a flag).
  config.listeners = config.listeners.map((l) => ({ ...l, host: l.host ?? config.host }));
  return config;
}

export interface ConfigFile {
  /** The options the file set, typed and checked. */
  values: Partial<BrokerConfig>;
  /** `listeners:` entries; host undefined: the main --host. */
  listeners: FileListener[];
  /** `listeners:` as a URL list and the tls-* keys: read as the --listeners/--tls-* flags are (a flag or variable wins, key by key). */
  listenerFlags: ListenerFlagValues;
}

/** Reads and checks one config file; a missing file, bad YAML, unknown key or bad value throws one ConfigError. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`--config: ${path}: ${code === 'ENOENT' ? 'no such file' : ((err as Error).message ?? code)}`);
  }
  return parseConfigText(text, path);
}

/** The checks of readConfigFile on text already read; `path` names the file in errors and anchors relative paths. */
export function parseConfigText(text: string, path: string): ConfigFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const place: Place = { file: path, lineOf: (node) => (node?.range ? lines.linePos(node.range[0]).line : 1) };
  const problem = doc.errors[0];
  if (problem !== undefined) {
    // An error found at the end of the text (an unclosed bracket or quote) names the last line, not the one after it.
    const line = Math.min(lines.linePos(problem.pos[0]).line, text.trimEnd().split('\n').length);
    throw new ConfigError(`${path}:${line}: not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  const result: ConfigFile = { values: {}, listeners: [], listenerFlags: new Map() };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return result; // an empty file
  if (!isMap(doc.contents)) throw new ConfigError(`${path}:${place.lineOf(doc.contents)}: expected key: value lines (a YAML mapping)`);
  const base = dirname(resolve(path));
  const values: Record<string, unknown> = result.values;
  for (const pair of (doc.contents as YAMLMap).items as Pair<Node, Node | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const at = `${path}:${place.lineOf(pair.key)}`;
    if (key === 'listeners' && isScalar(pair.value)) {
      result.listenerFlags.set('listeners', { raw: String(pair.value.value ?? ''), source: `${at}: listeners` });
      continue;
    }
    if (key === 'listeners') {
      result.listeners = readListeners(pair.value, place, base);
      continue;
    }
    if (isListenerFlag(key) !== undefined) {
      if (!isScalar(pair.value) || pair.value.value === null) throw new ConfigError(`${at}: ${key}: needs a single value`);
      const raw = String(pair.value.value);
      // Files named here are relative to the config file, as every path in it.
      const isFile = key === 'tls-cert' || key === 'tls-key' || key === 'tls-ca';
      result.listenerFlags.set(key, { raw: isFile && raw !== '' ? resolve(base, raw) : raw, source: `${at}: ${key}` });
      continue;
    }
    const option = OPTIONS.find((o) => o.flag === key);
    if (option === undefined) throw new ConfigError(`${at}: unknown key '${key}'${suggestion(key)}`);
    values[option.key] = fileValue(option, pair.value, `${path}:${place.lineOf(pair.value ?? pair.key)}: ${key}`, base);
  }
  if (result.listeners.length > 0) {
    const stray = [...result.listenerFlags.keys()].find((k) => k !== 'listeners');
    if (stray !== undefined) throw new ConfigError(`${result.listenerFlags.get(stray)!.source}: with a listeners: list, give each mqtts/wss listener its own tls: mapping`);
  }
  return result;
}

/** One key's value: a scalar as text through convert(); `plugins` may also be a YAML list. */
function fileValue(option: Option, node: Node | null, source: string, base: string): unknown {
  if (option.kind === 'paths' && isSeq(node)) {
    const paths = node.items.map((item) => (isScalar(item) && typeof item.value === 'string' ? item.value : ''));
    if (paths.some((p) => p.trim() === '')) throw new ConfigError(`${source}: expected a list of module paths`);
    return paths.map((p) => resolve(base, p.trim()));
  }
  if (!isScalar(node) || node.value === null || node.value === undefined) {
    throw new ConfigError(`${source}: ${node === null || isScalar(node) ? 'needs a value' : 'expected a single value, not a list or mapping'}`);
  }
  const raw = String(node.value);
  const value = convert(option, raw, source);
  // convert() checked the paths and made them absolute against the working directory; here they are relative to the file.
  if (option.kind === 'paths') return raw.split(',').map((p) => resolve(base, p.trim()));
  return option.file === true && typeof value === 'string' ? resolve(base, value) : value;
}

/** " (did you mean 'x'?)" for a key a few edits from a known one (two; three for long keys); '' otherwise. */
export function suggestion(key: string, known: readonly string[] = [...OPTIONS.map((o) => o.flag), ...LISTENER_FLAGS.map((f) => f.flag)]): string {
  let best: string | undefined;
  let bestDistance = key.length >= 8 ? 4 : 3;
  for (const candidate of known) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}
