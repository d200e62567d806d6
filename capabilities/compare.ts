/**
 * The one text order plugrun uses for everything it sorts (grants, plugin
 * names, JSON keys), so output is the same on every machine.
 */

/** Compares by UTF-16 code units, as `Array.prototype.sort` does, so no locale changes the order. */
export const compareText = (a: string, b: string): number => {
  if (a === b) return 0;
  return a < b ? -1 : 1;
};
