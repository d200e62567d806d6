import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { inferCapabilities, type CapabilityUse } from '../../runtime/check/capability-use.js';
import type { Diagnostic } from '../../runtime/check/diagnostic.js';
import { loadModuleGraph } from '../../runtime/check/modules.js';
import { checkModule } from '../../runtime/check/rules.js';
import { makeParentMap } from '../../runtime/check/syntax.js';

/** Writes a plugin folder and runs the code rules and the capability inference over it, without locking or building. */
const analyse = (files: Record<string, string>, requested: readonly string[] = []): { diagnostics: Diagnostic[]; uses: CapabilityUse[]; root: string } => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-check-')));
  try {
    for (const [relative, content] of Object.entries(files)) {
      const file = path.join(root, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    const graph = loadModuleGraph('sample', root, 'index.js');
    const diagnostics = [...graph.diagnostics];
    const uses: CapabilityUse[] = [];
    for (const module of graph.modules) {
      diagnostics.push(...checkModule('sample', module));
      const inferred = inferCapabilities('sample', requested, module, makeParentMap(module.program));
      diagnostics.push(...inferred.diagnostics);
      uses.push(...inferred.uses);
    }
    return { diagnostics, uses, root };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
};

interface RuleCase {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly rule: string;
  readonly severity: 'error' | 'warning';
  /** Module the finding is in, relative to the plugin folder; default index.js. */
  readonly file?: string;
  readonly line: number;
  readonly column: number;
  /** Text the message or fix must contain, such as the ctx alternative. */
  readonly mentions: string;
}

const RULE_CASES: RuleCase[] = [
  { name: 'builtin import', files: { 'index.js': "import fs from 'fs';\n" }, rule: 'builtin-import', severity: 'error', line: 1, column: 16, mentions: 'ctx.fs.readFile' },
  { name: 'node: builtin with subpath', files: { 'index.js': "\nimport { readFile } from 'node:fs/promises';\n" }, rule: 'builtin-import', severity: 'error', line: 2, column: 26, mentions: 'ctx.fs' },
  { name: 'export from builtin', files: { 'index.js': "export { request } from 'node:https';\n" }, rule: 'builtin-import', severity: 'error', line: 1, column: 25, mentions: 'ctx.net.fetch' },
  { name: 'child_process import', files: { 'index.js': "import { exec } from 'child_process';\n" }, rule: 'builtin-import', severity: 'error', line: 1, column: 22, mentions: 'cannot run programs' },
  { name: 'import leaving folder', files: { 'index.js': "import x from '../other/x.js';\n" }, rule: 'outside-import', severity: 'error', line: 1, column: 15, mentions: 'leaves the plugin folder' },
  { name: 'absolute import', files: { 'index.js': "import x from '/etc/x.js';\n" }, rule: 'outside-import', severity: 'error', line: 1, column: 15, mentions: 'absolute path' },
  { name: 'undeclared package', files: { 'index.js': "import _ from 'lodash';\n" }, rule: 'outside-import', severity: 'error', line: 1, column: 15, mentions: 'package.json' },
  {
    name: 'declared package not installed',
    files: { 'index.js': "import left from 'left-pad';\n", 'package.json': '{"dependencies":{"left-pad":"1.3.0"}}' },
    rule: 'missing-dependency',
    severity: 'error',
    line: 1,
    column: 18,
    mentions: 'npm install',
  },
  { name: 'missing relative module', files: { 'index.js': "import './lib/nope.js';\n" }, rule: 'missing-module', severity: 'error', line: 1, column: 8, mentions: 'no such file' },
  { name: 'dynamic import of own module', files: { 'index.js': "const m = await import('./lib/a.js');\n" }, rule: 'dynamic-import', severity: 'error', line: 1, column: 17, mentions: 'static' },
  { name: 'dynamic import of builtin', files: { 'index.js': "export async function start() {\n  await import('child_process');\n}\n" }, rule: 'dynamic-import', severity: 'error', line: 2, column: 9, mentions: 'cannot run programs' },
  { name: 'direct eval', files: { 'index.js': "export const run = (text) => eval(text);\n" }, rule: 'eval', severity: 'error', line: 1, column: 30, mentions: 'SES rejects' },
  { name: 'indirect eval', files: { 'index.js': "export const run = (text) => (0, eval)(text);\n" }, rule: 'eval', severity: 'warning', line: 1, column: 34, mentions: 'JSON.parse' },
  { name: 'globalThis.eval', files: { 'index.js': "export const run = (text) => globalThis.eval(text);\n" }, rule: 'eval', severity: 'warning', line: 1, column: 30, mentions: 'JSON.parse' },
  { name: 'new Function', files: { 'index.js': "export const f = new Function('a', 'return a');\n" }, rule: 'function-constructor', severity: 'warning', line: 1, column: 22, mentions: 'new Function' },
  { name: 'Function call', files: { 'index.js': "export const f = Function('return 1');\n" }, rule: 'function-constructor', severity: 'warning', line: 1, column: 18, mentions: 'Function(...)' },
  { name: 'with statement', files: { 'index.js': "const o = { a: 1 };\nwith (o) { a; }\n" }, rule: 'with', severity: 'error', line: 2, column: 1, mentions: 'strict' },
  { name: 'process', files: { 'index.js': "export const key = process.env.KEY;\n" }, rule: 'host-global', severity: 'error', line: 1, column: 20, mentions: 'ctx.config.get' },
  { name: 'require of builtin', files: { 'index.js': "const fs = require('fs');\n" }, rule: 'host-global', severity: 'error', line: 1, column: 12, mentions: 'require("fs")' },
  { name: 'fetch', files: { 'index.js': "export const get = () => fetch('https://example.org/');\n" }, rule: 'host-global', severity: 'error', line: 1, column: 26, mentions: 'ctx.net.fetch' },
  { name: 'console', files: { 'index.js': "console.log('hi');\n" }, rule: 'host-global', severity: 'error', line: 1, column: 1, mentions: 'ctx.log.info' },
  { name: 'Buffer', files: { 'index.js': "export const b = Buffer.from('x');\n" }, rule: 'host-global', severity: 'error', line: 1, column: 18, mentions: 'Uint8Array' },
  { name: '__dirname', files: { 'index.js': "export const here = __dirname;\n" }, rule: 'host-global', severity: 'error', line: 1, column: 21, mentions: 'ctx.fs' },
  { name: '__filename', files: { 'index.js': "export const me = __filename;\n" }, rule: 'host-global', severity: 'error', line: 1, column: 19, mentions: 'ctx.fs' },
  { name: 'setImmediate', files: { 'index.js': "setImmediate(() => {});\n" }, rule: 'host-global', severity: 'error', line: 1, column: 1, mentions: 'queueMicrotask' },
  { name: 'globalThis.process', files: { 'index.js': "export const p = globalThis.process;\n" }, rule: 'host-global', severity: 'error', line: 1, column: 18, mentions: 'ctx.config' },
  { name: 'WeakRef missing', files: { 'index.js': "export const f = new WeakRef({});\n" }, rule: 'unknown-global', severity: 'warning', line: 1, column: 22, mentions: 'ReferenceError' },
  { name: 'method named eval', files: { 'index.js': 'export const runner = { eval() {} };\n' }, rule: 'ses-rejected-text', severity: 'error', line: 1, column: 25, mentions: 'SES rejects' },
  { name: 'syntax error', files: { 'index.js': 'export const = 1;\n' }, rule: 'syntax-error', severity: 'error', line: 1, column: 14, mentions: 'Unexpected token' },
  { name: 'finding in imported module', files: { 'index.js': "import { go } from './lib/go.js';\n", 'lib/go.js': "export const go = () => process.exit(1);\n" }, rule: 'host-global', severity: 'error', file: 'lib/go.js', line: 1, column: 25, mentions: 'ctx.config' },
  { name: 'module found without extension', files: { 'index.js': "import './lib/side';\n", 'lib/side.js': 'console.error(1);\n' }, rule: 'host-global', severity: 'error', file: 'lib/side.js', line: 1, column: 1, mentions: 'ctx.log' },
  { name: 'builtin required in CommonJS', files: { 'index.js': "import helper from './lib/helper.cjs';\n", 'lib/helper.cjs': "const cp = require('child_process');\nmodule.exports = cp;\n" }, rule: 'builtin-import', severity: 'error', file: 'lib/helper.cjs', line: 1, column: 20, mentions: 'require("child_process")' },
  { name: 'CommonJS followed through require', files: { 'index.js': "import a from './a.cjs';\n", 'a.cjs': "module.exports = require('./b.cjs');\n", 'b.cjs': 'module.exports = fetch;\n' }, rule: 'host-global', severity: 'error', file: 'b.cjs', line: 1, column: 18, mentions: 'ctx.net.fetch' },
];

for (const entry of RULE_CASES) {
  test(`rule ${entry.rule}: ${entry.name}`, () => {
    const { diagnostics, root } = analyse(entry.files);
    const found = diagnostics.filter((diagnostic) => diagnostic.rule === entry.rule);
    assert.is(found.length, 1, JSON.stringify(diagnostics, null, 2));
    const [diagnostic] = found;
    assert.is(diagnostic!.severity, entry.severity);
    assert.is(path.relative(root, diagnostic!.file), entry.file ?? 'index.js');
    assert.is(diagnostic!.line, entry.line);
    assert.is(diagnostic!.column, entry.column);
    assert.ok(`${diagnostic!.message} ${diagnostic!.fix}`.includes(entry.mentions), `${diagnostic!.message}; ${diagnostic!.fix}`);
  });
}

/** Code that must produce no finding at all. */
const CLEAN_CASES: Array<readonly [string, string]> = [
  ['shadowed process', "const process = { env: {} };\nexport const key = process.env.KEY;\n"],
  ['parameter named console', 'export function show(console) { console.log(1); }\n'],
  ['local require function', "function require(name) { return name; }\nexport const x = require('fs');\n"],
  ['block-scoped fetch', "export function get() { const fetch = () => 1; return fetch('https://example.org/'); }\n"],
  ['catch parameter named Buffer', 'try { JSON.parse("x"); } catch (Buffer) { Buffer.message; }\n'],
  ['property names', "const job = { process: 1, require: 2, eval: 3 };\nexport const n = job.process + job.require + job.eval;\n"],
  ['member calls', "const makeRunner = () => ({ process: () => 1 });\nconst runner = makeRunner();\nrunner.process();\nrunner.eval();\nrunner.require('fs');\n"],
  ['class methods', 'export class Worker { process() { return this.fetch; } fetch() {} }\n'],
  ['strings mentioning eval', "export const words = ['evaluate', 'eval', 'medieval', \"process\", `require`];\n// we never evaluate input\n"],
  ['import( inside a string', "export const text = \"load it with import('fs')\";\n"],
  ['typeof probes', "export const node = typeof process !== 'undefined' && typeof require === 'function';\n"],
  ['compartment globals', "setTimeout(() => {}, 1);\nqueueMicrotask(() => {});\nexport const id = crypto.randomUUID() + new URL('https://a.example/').host + structuredClone([1]) + new TextEncoder().encode('x') + btoa('x') + Date.now() + Math.random();\n"],
  ['Function.prototype use', 'export const call = Function.prototype.call;\n'],
  ['imported binding named fetch', "import { fetch } from './lib/http.js';\nexport const get = () => fetch('x');\n"],
  ['json import', "import data from './data.json' with { type: 'json' };\nexport const n = data.n;\n"],
  // The lock rewrites these, so SES accepts the module.
  ['eval( in a string', "export const help = 'never call eval(x)';\n"],
  ['eval( in a comment', '// eval(x) is not used\nexport {};\n'],
  ['global and self aliases', 'export const same = global === globalThis && self === globalThis;\n'],
  ['Intl and float arrays', "export const f = new Intl.NumberFormat('en-US').format(new Float64Array([1.5])[0] + new Float32Array(1)[0]);\n"],
];

for (const [name, source] of CLEAN_CASES) {
  test(`no finding: ${name}`, () => {
    const files: Record<string, string> = { 'index.js': source, 'lib/http.js': 'export const fetch = (x) => x;\n', 'data.json': '{"n":1}' };
    const { diagnostics } = analyse(files);
    assert.equal(diagnostics, []);
  });
}

interface UseCase {
  readonly name: string;
  readonly source: string;
  readonly requested?: readonly string[];
  /** The capability inferred, or null when the call must not be inferred. */
  readonly capability: string | null;
  /** True when the manifest's requests cover it, so no warning is expected. */
  readonly covered?: boolean;
}

const USE_CASES: UseCase[] = [
  { name: 'net literal URL', source: "export async function start(ctx) { await ctx.net.fetch('https://API.Example.org/v1?key=1'); }", capability: 'net:api.example.org' },
  { name: 'net json with port', source: "export async function start(ctx) { await ctx.net.json('http://api.example.org:8080/x'); }", capability: 'net:api.example.org:8080' },
  { name: 'net requested', source: "export async function start(ctx) { await ctx.net.fetch('https://api.example.org/'); }", requested: ['net:api.example.org'], capability: 'net:api.example.org', covered: true },
  { name: 'net wildcard request covers', source: "export async function start(ctx) { await ctx.net.fetch('https://api.example.org/'); }", requested: ['net:*.example.org'], capability: 'net:api.example.org', covered: true },
  { name: 'net template with known host', source: 'export async function start(ctx) { const id = 1; await ctx.net.fetch(`https://api.example.org/items/${ctx.plugin.name}`); }', capability: 'net:api.example.org' },
  { name: 'net URL from const', source: "const BASE = 'https://api.example.org';\nexport async function start(ctx) { await ctx.net.json(BASE + '/feed.json'); }", capability: 'net:api.example.org' },
  { name: 'net URL from config', source: "export async function start(ctx) { const url = await ctx.config.get('url'); await ctx.net.fetch(url); }", capability: null },
  { name: 'net template with unknown host', source: 'export async function start(ctx) { const host = await ctx.config.get("h"); await ctx.net.fetch(`https://${host}/x`); }', capability: null },
  { name: 'fs write', source: "export async function start(ctx) { await ctx.fs.writeFile('exports/a.txt', 'x'); }", capability: 'fs:exports/' },
  { name: 'fs read needs only read', source: "export async function start(ctx) { await ctx.fs.readFile('cache/a.json'); }", capability: 'fs.read:cache/' },
  { name: 'fs read under read request', source: "export async function start(ctx) { await ctx.fs.readFile('cache/a.json'); }", requested: ['fs.read:cache/'], capability: 'fs.read:cache/', covered: true },
  { name: 'fs write under read request', source: "export async function start(ctx) { await ctx.fs.appendFile('cache/a.json', 'x'); }", requested: ['fs.read:cache/'], capability: 'fs:cache/' },
  { name: 'fs nested folder covered', source: "export async function start(ctx) { await ctx.fs.writeFile('exports/2026/a.md', 'x'); }", requested: ['fs:exports/'], capability: 'fs:exports/2026/', covered: true },
  { name: 'fs template path', source: 'export async function start(ctx) { const n = Date.now(); await ctx.fs.writeFile(`exports/${n}.md`, "x"); }', capability: 'fs:exports/' },
  { name: 'fs list folder', source: "export async function start(ctx) { await ctx.fs.list('logs'); }", capability: 'fs.read:logs/' },
  { name: 'db insert', source: "export async function start(ctx) { await ctx.db.insert('Notes', { a: 1 }); }", capability: 'db:notes' },
  { name: 'db table from const', source: "const TABLE = 'notes';\nexport async function start(ctx) { await ctx.db.createTable(TABLE, { columns: {} }); }", capability: 'db:notes' },
  { name: 'db star covers', source: "export async function start(ctx) { await ctx.db.select('notes'); }", requested: ['db:*'], capability: 'db:notes', covered: true },
  { name: 'db query not inferred', source: "export async function start(ctx) { await ctx.db.query('SELECT * FROM secrets'); }", capability: null },
  { name: 'plugins call', source: "export async function start(ctx) { await ctx.plugins.call('notes', 'add', {}); }", capability: 'msg:notes' },
  { name: 'start parameter with another name', source: "export async function start(c) { await c.db.insert('t', {}); }", capability: 'db:t' },
  { name: 'command second parameter', source: "export const commands = { async go(input, context) { return context.db.select('t'); } };", capability: 'db:t' },
  { name: 'command arrow by name', source: "const go = async (input, api) => api.db.select('t');\nexport const commands = { go };", capability: 'db:t' },
  { name: 'destructured ctx parameter', source: "export async function start({ db }) { await db.insert('t', {}); }", capability: 'db:t' },
  { name: 'destructured const from ctx', source: "export async function start(ctx) { const { net } = ctx; await net.fetch('https://a.example.org/'); }", capability: 'net:a.example.org' },
  { name: 'namespace alias', source: "export async function start(ctx) { const files = ctx.fs; await files.writeFile('out/a.txt', 'x'); }", capability: 'fs:out/' },
  { name: 'helper parameter named ctx', source: "const save = (ctx) => ctx.fs.writeFile('out/a.txt', 'x');\nexport async function start(ctx) { await save(ctx); }", capability: 'fs:out/' },
  { name: 'helper parameter with another name', source: "const save = (api) => api.fs.writeFile('out/a.txt', 'x');\nexport async function start(ctx) { await save(ctx); }", capability: null },
  { name: 'object named like ctx', source: "const ctx = { db: { insert() {} } };\nctx.db.insert('t');", capability: null },
  { name: 'first parameter of a command', source: "export const commands = { async go(ctx2) { return ctx2.db.select('t'); } };", capability: null },
];

for (const entry of USE_CASES) {
  test(`infers ${entry.name}`, () => {
    const { diagnostics, uses } = analyse({ 'index.js': `${entry.source}\n` }, entry.requested ?? []);
    const warnings = diagnostics.filter((diagnostic) => diagnostic.rule === 'unrequested-capability');
    if (entry.capability === null) {
      assert.equal(uses, []);
      assert.equal(warnings, []);
      return;
    }
    assert.equal(uses.map((use) => use.capability), [entry.capability]);
    assert.is(uses[0]!.requested, entry.covered === true);
    assert.is(warnings.length, entry.covered === true ? 0 : 1);
    if (entry.covered !== true) {
      assert.ok(warnings[0]!.message.includes(entry.capability), warnings[0]!.message);
      assert.ok(warnings[0]!.fix.includes(`plugrun grant sample ${entry.capability}`), warnings[0]!.fix);
    }
  });
}

const INVALID_ARGUMENT_CASES: Array<readonly [string, string, string]> = [
  ['file not in a folder', "export async function start(ctx) { await ctx.fs.writeFile('a.txt', 'x'); }", 'not inside a folder'],
  ['path leaving data folder', "export async function start(ctx) { await ctx.fs.readFile('../secrets/a.txt'); }", '..'],
  ['URL with other scheme', "export async function start(ctx) { await ctx.net.fetch('ftp://example.org/'); }", 'ftp:'],
  ['bad table name', "export async function start(ctx) { await ctx.db.insert('sqlite_master', {}); }", 'sqlite_'],
  ['bad plugin name', "export async function start(ctx) { await ctx.plugins.call('Not Valid', 'x'); }", 'not a valid plugin name'],
];

for (const [name, source, mentions] of INVALID_ARGUMENT_CASES) {
  test(`invalid argument: ${name}`, () => {
    const { diagnostics, uses } = analyse({ 'index.js': `${source}\n` });
    assert.equal(uses, []);
    assert.is(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.is(diagnostics[0]!.rule, 'invalid-argument');
    assert.is(diagnostics[0]!.severity, 'warning');
    assert.ok(diagnostics[0]!.message.includes(mentions), diagnostics[0]!.message);
  });
}

test('CommonJS top-level names resolve', () => {
  const { diagnostics } = analyse({
    'index.js': "import a from './a.cjs';\nexport const x = a;\n",
    'a.cjs': 'const helper = () => 1;\nfunction other() { return helper(); }\nvar count = 2;\nmodule.exports = other() + count + __dirname.length + exports.length;\n',
  });
  assert.equal(diagnostics, []);
});

test('every host global use is reported', () => {
  const { diagnostics } = analyse({ 'index.js': 'console.log(1);\nconsole.warn(2);\n' });
  assert.equal(diagnostics.map((diagnostic) => diagnostic.line), [1, 2]);
});

test('installed dependency is not analysed', () => {
  const { diagnostics } = analyse({
    'index.js': "import lib from 'lib';\nexport const x = lib;\n",
    'package.json': '{"dependencies":{"lib":"1.0.0"}}',
    'node_modules/lib/package.json': '{"name":"lib","version":"1.0.0","main":"index.js"}',
    'node_modules/lib/index.js': "module.exports = typeof process === 'object' ? process.env : Buffer.from('x');\n",
  });
  assert.equal(diagnostics, []);
});

test('symlink out of folder is rejected', () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-outside-'));
  try {
    fs.writeFileSync(path.join(outside, 'secret.js'), 'export const s = 1;\n');
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-check-')));
    fs.writeFileSync(path.join(root, 'index.js'), "import { s } from './linked.js';\n");
    fs.symlinkSync(path.join(outside, 'secret.js'), path.join(root, 'linked.js'));
    const graph = loadModuleGraph('sample', root, 'index.js');
    fs.rmSync(root, { recursive: true, force: true });
    assert.equal(graph.diagnostics.map((diagnostic) => diagnostic.rule), ['outside-import']);
    assert.ok(graph.diagnostics[0]!.message.includes('symbolic link'));
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('missing entry is reported on plugin.json', () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-check-')));
  const graph = loadModuleGraph('sample', root, 'main.js');
  fs.rmSync(root, { recursive: true, force: true });
  assert.equal(graph.diagnostics.map((diagnostic) => [diagnostic.rule, path.basename(diagnostic.file)]), [['missing-entry', 'plugin.json']]);
});

test.run();
