import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { scanModuleSource } from '../../runtime/source-scan.js';

test('dynamic import names its specifier', () => {
  const [finding] = scanModuleSource("const a = 1;\nconst m = await import('child_process');\n", 'index.js', 'mjs');
  assert.is(finding?.kind, 'dynamic-import');
  assert.is(finding?.specifier, 'child_process');
  assert.is(finding?.line, 2);
  assert.is(finding?.column, 17);
});

test('import( in a comment is found', () => {
  const findings = scanModuleSource('// see import(x) docs\nexport {};\n', 'index.js', 'mjs');
  assert.is(findings.length, 1);
  assert.is(findings[0]!.kind, 'dynamic-import');
  assert.is(findings[0]!.specifier, undefined);
});

test('member named import is not a dynamic import', () => {
  assert.equal(scanModuleSource('loader.import("x");\n', 'a.js', 'mjs'), []);
});

test('html comment tokens are found', () => {
  const findings = scanModuleSource("const s = '<!-- x -->';\n", 'a.js', 'cjs');
  assert.equal(findings.map((finding) => finding.kind), ['html-comment', 'html-comment']);
});

test('direct eval call is found', () => {
  const [finding] = scanModuleSource('const x = eval("1 + 1");\n', 'a.js', 'mjs');
  assert.is(finding?.kind, 'direct-eval');
  assert.is(finding?.column, 11);
});

test('eval as a member is not a direct call', () => {
  assert.equal(scanModuleSource('const x = globalThis.eval;\nobj.eval(1);\n', 'a.js', 'mjs'), []);
});

test('require in an ES module is found', () => {
  const [finding] = scanModuleSource("const fs = require('fs');\n", 'index.js', 'mjs');
  assert.is(finding?.kind, 'require-in-module');
  assert.is(finding?.specifier, 'fs');
});

test('require in CommonJS is not a finding', () => {
  assert.equal(scanModuleSource("const fs = require('fs');\n", 'index.js', 'cjs'), []);
});

test.run();
