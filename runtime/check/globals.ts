/**
 * The globals of a plugin's compartment, for `plugrun check`: the names it
 * has, the host globals it lacks with what to use instead, and the
 * `ctx` alternative to each Node built-in module.
 */

/**
 * Every own property name of `globalThis` inside a plugin's compartment:
 * the intrinsics SES (ses 2.3.0) gives each compartment, and the names that
 * runtime/worker/endowments.ts adds. The test `check globals match the
 * compartment` lists them from a running plugin and fails when they differ.
 * WeakRef, FinalizationRegistry, SharedArrayBuffer and Atomics are not
 * among them.
 */
export const COMPARTMENT_GLOBALS: ReadonlySet<string> = new Set([
  'AggregateError', 'Array', 'ArrayBuffer', 'BigInt', 'BigInt64Array', 'BigUint64Array', 'Boolean',
  'Compartment', 'DataView', 'Date', 'Error', 'EvalError', 'Float32Array', 'Float64Array', 'Function',
  'Infinity', 'Int16Array', 'Int32Array', 'Int8Array', 'Intl', 'JSON', 'Map', 'Math', 'NaN', 'Number', 'Object', 'Promise', 'Proxy',
  'RangeError', 'ReferenceError', 'Reflect', 'RegExp', 'Set', 'String', 'Symbol', 'SyntaxError',
  'TextDecoder', 'TextEncoder', 'TypeError', 'URIError', 'URL', 'URLSearchParams', 'Uint16Array',
  'Uint32Array', 'Uint8Array', 'Uint8ClampedArray', 'WeakMap', 'WeakSet', 'atob', 'btoa',
  'clearInterval', 'clearTimeout', 'crypto', 'decodeURI', 'decodeURIComponent', 'encodeURI',
  'encodeURIComponent', 'escape', 'eval', 'global', 'globalThis', 'harden', 'isFinite', 'isNaN', 'lockdown',
  'parseFloat', 'parseInt', 'queueMicrotask', 'self', 'setInterval', 'setTimeout', 'structuredClone',
  'undefined', 'unescape',
]);

/**
 * Names a CommonJS module of the plugin gets from compartment-mapper's
 * module wrapper; an ES module has none of them.
 */
export const COMMONJS_MODULE_NAMES: ReadonlySet<string> = new Set(['require', 'module', 'exports', '__filename', '__dirname']);

/**
 * Host globals that Node.js or browsers have and a compartment lacks, each
 * with what a plugin uses instead. A reference to one is an error: it
 * throws a `ReferenceError` when it runs.
 */
export const HOST_GLOBAL_ALTERNATIVES: Readonly<Record<string, string>> = {
  process: 'read settings with ctx.config.get(key) and the plugin name from ctx.plugin; a plugin has no environment, arguments or exit',
  require: 'use a static import of a module inside the plugin folder or of a package in its own node_modules; host modules are reached through ctx',
  module: 'export with ES module syntax: export async function start(ctx) {} and export const commands = {}',
  exports: 'export with ES module syntax: export async function start(ctx) {} and export const commands = {}',
  fetch: 'use ctx.net.fetch(url, options) or ctx.net.json(url), under a net:<host> grant',
  XMLHttpRequest: 'use ctx.net.fetch(url, options) or ctx.net.json(url), under a net:<host> grant',
  WebSocket: 'use ctx.net.fetch(url, options); plugins have no sockets',
  console: 'use ctx.log.info(message, fields), or ctx.log.debug, warn and error',
  Buffer: 'use Uint8Array for bytes, TextEncoder and TextDecoder for text, and atob and btoa for base64',
  __dirname: 'name files relative to the plugin data folder with ctx.fs, under an fs:<dir>/ grant; a plugin cannot read its own code folder',
  __filename: 'name files relative to the plugin data folder with ctx.fs, under an fs:<dir>/ grant; a plugin cannot read its own code folder',
  global: 'use globalThis, which holds only the compartment globals',
  setImmediate: 'use queueMicrotask(fn) or setTimeout(fn, 0)',
  clearImmediate: 'use clearTimeout(id) with setTimeout(fn, 0)',
  performance: 'use Date.now() for times in milliseconds',
  navigator: 'plugins run in Node.js workers, not in a browser; read settings with ctx.config.get(key)',
  window: 'use globalThis, which holds only the compartment globals',
  self: 'use globalThis, which holds only the compartment globals',
  document: 'plugins run in Node.js workers, not in a browser; there is no DOM',
  localStorage: 'keep values with ctx.config.set(key, value), or in a table with ctx.db',
  sessionStorage: 'keep values with ctx.config.set(key, value), or in a table with ctx.db',
  Deno: 'plugins get their authority from ctx only',
  Bun: 'plugins get their authority from ctx only',
};

/**
 * The `ctx` alternative to each Node built-in module that has one, keyed by
 * the name without `node:` and without a subpath (`fs/promises` is `fs`).
 */
export const BUILTIN_ALTERNATIVES: Readonly<Record<string, string>> = {
  fs: 'use ctx.fs.readFile, writeFile, appendFile, deleteFile, list and stat, under an fs:<dir>/ grant',
  path: 'build the relative paths ctx.fs takes with string operations; ctx.fs normalises them and rejects "..", or install a pure JavaScript path library in the plugin\'s node_modules',
  http: 'use ctx.net.fetch(url, options) or ctx.net.json(url), under a net:<host> grant',
  https: 'use ctx.net.fetch(url, options) or ctx.net.json(url), under a net:<host> grant',
  http2: 'use ctx.net.fetch(url, options) or ctx.net.json(url), under a net:<host> grant',
  net: 'use ctx.net.fetch(url, options); plugins have no sockets',
  tls: 'use ctx.net.fetch with an https: URL; plugrun checks the certificate',
  dgram: 'use ctx.net.fetch(url, options); plugins have no sockets',
  dns: 'pass the host name to ctx.net.fetch; plugrun resolves and checks it',
  child_process: 'plugins cannot run programs; move that work into the host application',
  cluster: 'plugins cannot start processes or threads; plugrun runs each plugin in its own worker',
  worker_threads: 'plugins cannot start threads; plugrun runs each plugin in its own worker',
  vm: 'plugins cannot evaluate code in new contexts; write the code in the plugin\'s modules',
  os: 'read settings with ctx.config.get(key); plugins see nothing of the host system',
  process: 'read settings with ctx.config.get(key) and the plugin name from ctx.plugin',
  crypto: 'use the global crypto.getRandomValues(array) and crypto.randomUUID(), or install a pure JavaScript hash library in the plugin\'s node_modules',
  timers: 'use the global setTimeout and setInterval, or ctx.timers.sleep(ms)',
  events: 'install a pure JavaScript event emitter in the plugin\'s node_modules, or call other plugins with ctx.plugins.call',
  util: 'use the standard JavaScript built-ins, such as JSON.stringify and structuredClone',
  buffer: 'use Uint8Array for bytes, TextEncoder and TextDecoder for text, and atob and btoa for base64',
  string_decoder: 'use TextDecoder',
  url: 'use the global URL and URLSearchParams',
  querystring: 'use the global URLSearchParams',
  sqlite: 'use ctx.db.createTable, insert, select, update, delete and query, under a db:<table> grant',
  readline: 'plugins have no terminal; take input through commands, run with plugrun call',
  console: 'use ctx.log.info(message, fields), or ctx.log.debug, warn and error',
  module: 'use static imports of modules inside the plugin folder',
  perf_hooks: 'use Date.now() for times in milliseconds',
  assert: 'throw an Error when a condition fails, or install an assertion library in the plugin\'s node_modules',
  zlib: 'install a pure JavaScript compression library in the plugin\'s node_modules',
  stream: 'install a pure JavaScript stream library in the plugin\'s node_modules, or work with whole values',
};

/** The alternative for a built-in module without an entry above. */
export const DEFAULT_BUILTIN_ALTERNATIVE =
  'plugins reach the host only through ctx (fs, net, db, config, plugins, timers, log); install a pure JavaScript package in the plugin\'s node_modules for other needs';
