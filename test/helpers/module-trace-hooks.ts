/**
 * Module resolution hooks for module-trace.ts. Node runs them off the main
 * thread, so the trace file comes in through `initialize`.
 */

import fs from 'node:fs';

let traceFile = '';

/** Receives the trace file from `register`. */
export const initialize = (data: { file: string }): void => {
  traceFile = data.file;
};

/** Resolves as Node would and appends the URL to the trace file. */
export const resolve = async (
  specifier: string,
  context: unknown,
  nextResolve: (specifier: string, context: unknown) => Promise<{ url: string }>,
): Promise<{ url: string }> => {
  const result = await nextResolve(specifier, context);
  fs.appendFileSync(traceFile, `${result.url}\n`);
  return result;
};
