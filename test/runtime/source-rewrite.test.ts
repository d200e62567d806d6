import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { evadeEvalText } from '../../runtime/evasion.js';
import { replaceNodeEnv } from '../../runtime/node-env.js';
import { rewriteModuleSource } from '../../runtime/source-rewrite.js';
import { scanModuleSource } from '../../runtime/source-scan.js';

// Evaluates a rewritten CommonJS body and returns its module.exports.
const evaluateCjs = (source: string): any => {
  const module = { exports: {} as any };
  new Function('module', 'exports', source)(module, module.exports);
  return module.exports;
};

test('eval( in a string keeps its value', () => {
  // A rewritten regular expression matches the same text, though its `source` reads differently.
  const source = 'module.exports = ["eval(x)", \'a eval (\', /eval(\\s*)/.test("eval("), `t eval(${1})`];\n';
  const rewritten = evadeEvalText(source, 'cjs');
  assert.equal(scanModuleSource(rewritten, 'a.js', 'cjs'), []);
  assert.equal(evaluateCjs(rewritten), evaluateCjs(source));
});

test('eval( after a lone backslash keeps its value', () => {
  const source = 'module.exports = "\\eval(";\n';
  const rewritten = evadeEvalText(source, 'cjs');
  assert.equal(scanModuleSource(rewritten, 'a.js', 'cjs'), []);
  assert.is(evaluateCjs(rewritten), 'eval(');
});

test('eval( in a comment is rewritten', () => {
  const rewritten = evadeEvalText('// never eval(code)\nexport const a = 1;\n', 'mjs');
  assert.equal(scanModuleSource(rewritten, 'a.js', 'mjs'), []);
  assert.ok(rewritten.includes('export const a = 1;'));
});

test('real eval call is still reported', () => {
  const rewritten = rewriteModuleSource('const x = eval("1 + 1");\n', 'mjs');
  const [finding] = scanModuleSource(rewritten, 'a.js', 'mjs');
  assert.is(finding?.kind, 'direct-eval');
});

test('tagged template text is left alone', () => {
  const source = 'module.exports = String.raw`eval(x)`;\n';
  assert.is(evadeEvalText(source, 'cjs'), source);
});

test('NODE_ENV reads become production', () => {
  const source = "const a = process.env.NODE_ENV;\nconst b = process.env['NODE_ENV'] === 'production';\n";
  assert.is(replaceNodeEnv(source, 'mjs'), 'const a = "production";\nconst b = "production" === \'production\';\n');
});

test('NODE_ENV assignment is left alone', () => {
  const source = "process.env.NODE_ENV = 'test';\n";
  assert.is(replaceNodeEnv(source, 'cjs'), source);
});

test('NODE_ENV of a local process is left alone', () => {
  const source = 'function read(process) {\n  return process.env.NODE_ENV;\n}\n';
  assert.is(replaceNodeEnv(source, 'cjs'), source);
});

test('NODE_ENV in top-level return body is replaced', () => {
  const source = 'if (!process.env.NODE_ENV) return;\nmodule.exports = 1;\n';
  assert.is(replaceNodeEnv(source, 'cjs'), 'if (!"production") return;\nmodule.exports = 1;\n');
});

test('unparsable text is returned unchanged', () => {
  const source = 'process.env.NODE_ENV eval( {{';
  assert.is(rewriteModuleSource(source, 'cjs'), source);
});

test.run();
