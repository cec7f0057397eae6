#!/usr/bin/env node
// Spec statement ids: which the code cites, which the tests name, and which statements of
// MQTT 3.1.1 and 5.0 no test names. Writes docs/conformance.md from docs/spec/*.tsv.
//
//   node scripts/spec-ids.mjs           print the lists, write docs/conformance.md
//   node scripts/spec-ids.mjs --check   write nothing; exit 1 if docs/conformance.md is stale
//                                       or a cited id is invalid or ambiguous
//
// A citation is MQTT-x.y.z-n, optionally prefixed v3: (3.1.1) or v5: (5.0); "MQTT-x.y.z-n/m"
// cites n and m. A bare id means the same rule in both specs: it must exist in at least one,
// and where it exists in both, docs/spec/mqtt-5.0.tsv must list it as the same rule (column
// v311), else it is ambiguous and must be prefixed. MQTT-x.y.z (no statement number) and
// §x.y.z are section references and are not checked.
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = 'docs/conformance.md';
const VERSIONS = [
  { key: 'v3', name: 'MQTT 3.1.1', file: 'docs/spec/mqtt-3.1.1.tsv' },
  { key: 'v5', name: 'MQTT 5.0', file: 'docs/spec/mqtt-5.0.tsv' },
];
const CITATION = /(?<![\w-])(?:(v3|v5):)?MQTT-([0-9][0-9.?-]*[0-9?])((?:\/[0-9]+)*)/g;
const STATEMENT = /^\d+\.\d+\.\d+-\d+$/;
const SECTION = /^\d+(\.\d+)+$/;

/** Rows of a statement list: id, target, status, [v311,] summary. */
function readSpec(file) {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const header = lines.shift().split('\t');
  const rows = new Map();
  for (const line of lines) {
    const cells = line.split('\t');
    if (cells.length !== header.length) throw new Error(`${file}: ${cells.length} columns, expected ${header.length}: ${line}`);
    const row = Object.fromEntries(header.map((h, i) => [h, cells[i]]));
    if (rows.has(row.id)) throw new Error(`${file}: ${row.id} listed twice`);
    rows.set(row.id, row);
  }
  return rows;
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

/** Every citation in a file: { id (MQTT-...), prefix, offset, line } or a malformed one. */
function citations(text) {
  const found = [];
  for (const m of text.matchAll(CITATION)) {
    const [raw, prefix, body, more] = m;
    const line = text.slice(0, m.index).split('\n').length;
    if (SECTION.test(body) && more === '') continue; // a section reference
    if (!STATEMENT.test(body)) {
      found.push({ raw, malformed: true, offset: m.index, line });
      continue;
    }
    const base = body.slice(0, body.lastIndexOf('-') + 1);
    const numbers = [body.slice(base.length), ...more.split('/').filter(Boolean)];
    for (const n of numbers) found.push({ raw, id: `MQTT-${base}${n}`, prefix, offset: m.index, line });
  }
  return found;
}

/** Test and describe blocks of a test file: [{ kind, title, start, end }], innermost last. */
function testBlocks(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const blocks = [];
  const calleeName = (expr) => {
    // it(...), it.each(...)(...), it.skip(...), describe.each(...)(...)
    if (ts.isCallExpression(expr)) return calleeName(expr.expression);
    if (ts.isPropertyAccessExpression(expr)) return calleeName(expr.expression);
    return ts.isIdentifier(expr) ? expr.text : undefined;
  };
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const name = calleeName(node.expression);
      const first = node.arguments[0];
      if ((name === 'it' || name === 'test' || name === 'describe') && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first) || ts.isTemplateExpression(first))) {
        const title = ts.isTemplateExpression(first) ? first.getText(source).slice(1, -1) : first.text;
        blocks.push({ kind: name === 'describe' ? 'describe' : 'test', title, start: node.getStart(source), end: node.getEnd() });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return blocks;
}

/** The test a citation at offset belongs to: the innermost test, else describe, else the file. */
function enclosingTitle(blocks, offset) {
  const around = blocks.filter((b) => b.start <= offset && offset < b.end);
  const test = around.filter((b) => b.kind === 'test').at(-1);
  if (test !== undefined) return test.title;
  const describe = around.at(-1);
  return describe !== undefined ? `${describe.title} (describe)` : '(file comment)';
}

function analyse() {
  const specs = Object.fromEntries(VERSIONS.map((v) => [v.key, readSpec(v.file)]));
  /** Bare id in both specs: the same rule only if the 5.0 row lists it in v311. */
  const sameRule = (id) => (specs.v5.get(id)?.v311 ?? '').split(' ').includes(id);
  const invalid = [];
  const ambiguous = [];
  const cited = { src: new Map(), test: new Map() }; // id -> Set of "file:line"
  const named = { v3: new Map(), v5: new Map() }; // statement id -> Set of "file\ttitle"

  for (const area of ['src', 'test']) {
    for (const file of sourceFiles(area)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const found = citations(text);
      if (found.length === 0) continue;
      const blocks = area === 'test' ? testBlocks(file, text) : [];
      for (const c of found) {
        const where = `${file}:${c.line}`;
        if (c.malformed) {
          invalid.push(`${where}: ${c.raw} is not a statement id`);
          continue;
        }
        const label = c.prefix ? `${c.prefix}:${c.id}` : c.id;
        if (!cited[area].has(label)) cited[area].set(label, new Set());
        cited[area].get(label).add(where);
        let versions;
        if (c.prefix) {
          if (!specs[c.prefix].has(c.id)) {
            invalid.push(`${where}: ${label} is not a ${c.prefix === 'v3' ? '3.1.1' : '5.0'} statement`);
            continue;
          }
          versions = [c.prefix];
        } else {
          versions = VERSIONS.map((v) => v.key).filter((k) => specs[k].has(c.id));
          if (versions.length === 0) {
            invalid.push(`${where}: ${c.id} is a statement of neither spec`);
            continue;
          }
          if (versions.length === 2 && !sameRule(c.id)) {
            ambiguous.push(`${where}: ${c.id} is a different rule in 3.1.1 and 5.0; write v3:${c.id} or v5:${c.id}`);
            continue;
          }
        }
        if (area !== 'test') continue;
        const title = enclosingTitle(blocks, c.offset);
        for (const v of versions) {
          if (!named[v].has(c.id)) named[v].set(c.id, new Set());
          named[v].get(c.id).add(`${file}\t${title}`);
        }
      }
    }
  }
  return { specs, invalid, ambiguous, cited, named };
}

const cell = (s) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function render({ specs, named }) {
  const out = [
    '<!-- Generated by scripts/spec-ids.mjs from docs/spec/*.tsv and the ids in test/; do not edit. Regenerate: node scripts/spec-ids.mjs (npm run spec-ids) -->',
    '# Conformance: spec statements and the tests that name them',
    '',
    'Every normative statement of MQTT 3.1.1 and MQTT 5.0, whom it binds, whether Starling implements it,',
    'and the tests whose title (or body) names it. A test names a statement by its id in brackets, e.g.',
    "`it('... [MQTT-3.1.0-1]')`; where the two specs use one id for different rules the id carries the",
    'version: `[v5:MQTT-3.3.1-10]`. Summaries are ours; the specifications are the authority:',
    '[3.1.1](https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html),',
    '[5.0](https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html).',
    '',
    '| | statements | server or both, implemented | of those named by a test |',
    '|---|---|---|---|',
  ];
  const required = (row) => row.target !== 'client' && row.status === 'implemented';
  for (const v of VERSIONS) {
    const rows = [...specs[v.key].values()];
    const req = rows.filter(required);
    const covered = req.filter((r) => named[v.key].has(r.id));
    out.push(`| ${v.name} | ${rows.length} | ${req.length} | ${covered.length} |`);
  }
  for (const v of VERSIONS) {
    out.push('', `## ${v.name}`, '', '| statement | summary | binds | status | tests |', '|---|---|---|---|---|');
    for (const row of specs[v.key].values()) {
      const tests = [...(named[v.key].get(row.id) ?? [])].sort().map((t) => {
        const [file, title] = t.split('\t');
        return `\`${file.replace(/^test\//, '')}\`: ${title}`;
      });
      const shown = tests.length > 0 ? tests.join('<br>') : required(row) ? '**none**' : '';
      out.push(`| ${row.id} | ${cell(row.summary)} | ${row.target} | ${cell(row.status)} | ${cell(shown)} |`);
    }
  }
  return out.join('\n') + '\n';
}

function report(result) {
  const { specs, invalid, ambiguous, cited } = result;
  const list = (title, items) => {
    console.log(`\n${title} (${items.length})`);
    for (const item of items) console.log(`  ${item}`);
  };
  const ids = (area) => [...cited[area].keys()].sort(byId);
  list('ids the code cites (src/)', ids('src').map((id) => `${id}  ${cited.src.get(id).size}×`));
  list('ids the tests name (test/)', ids('test').map((id) => `${id}  ${cited.test.get(id).size}×`));
  list('cited in src/ but named by no test', ids('src').filter((id) => !cited.test.has(id)));
  list('named in test/ but cited nowhere in src/', ids('test').filter((id) => !cited.src.has(id)));
  list('invalid citations (no such statement)', invalid);
  list('ambiguous citations (one id, two rules)', ambiguous);
  for (const v of VERSIONS) {
    const missing = [...specs[v.key].values()].filter((r) => r.target !== 'client' && r.status === 'implemented' && !result.named[v.key].has(r.id));
    list(`${v.name}: implemented server statements no test names`, missing.map((r) => `${r.id}  ${r.summary}`));
  }
}

function byId(a, b) {
  const key = (s) => s.replace(/^v\d:/, '').replace('MQTT-', '').split(/[.-]/).map(Number);
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) if ((ka[i] ?? -1) !== (kb[i] ?? -1)) return (ka[i] ?? -1) - (kb[i] ?? -1);
  return a < b ? -1 : a > b ? 1 : 0;
}

const check = process.argv.includes('--check');
const result = analyse();
const doc = render(result);
report(result);
let failed = result.invalid.length + result.ambiguous.length > 0;
if (check) {
  let current = '';
  try {
    current = readFileSync(join(ROOT, OUT), 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== doc) {
    console.error(`\n${OUT} is stale: run node scripts/spec-ids.mjs and commit it`);
    failed = true;
  }
} else {
  writeFileSync(join(ROOT, OUT), doc);
  console.log(`\nwrote ${relative(process.cwd(), join(ROOT, OUT)) || OUT}`);
}
if (failed) {
  console.error('spec-ids: failed');
  process.exit(1);
}
