/**
 * Preloaded with `node --import` in tests that check which modules a command
 * loads: every module URL the process resolves is appended to the file
 * named by PLUGRUN_MODULE_TRACE.
 */

import { register } from 'node:module';

const file = process.env.PLUGRUN_MODULE_TRACE;
if (file !== undefined && file !== '') register(new URL('./module-trace-hooks.js', import.meta.url), { data: { file } });
