/**
 * The `perform` of capabilities that this version of plugrun checks but cannot
 * carry out yet. The call was checked and allowed, but nothing happens: it
 * fails with `PLUGRUN_FAILED` instead of returning a result that looks real.
 */

import { failed } from './errors.js';

/** Rejects an allowed call of `method` (such as `ctx.fs.readFile`) that this version cannot perform. */
export const performNotImplemented = async (method: string): Promise<never> => {
  throw failed(`${method} is not implemented yet in this version of plugrun. The call was allowed, but nothing was done`);
};
