/**
 * The split of the screen's rows between the panes. The whole frame stays one row shorter
 * than the terminal: Ink 6 clears the whole screen before every frame as
 * tall as the terminal, which would flicker at 15 frames a second.
 */

/** Rows of each part of the screen. */
export interface Layout {
  readonly plugins: number;
  readonly audit: number;
}

/** Rows of the header (1) and the footer (notice and keys, 2). */
const FIXED_ROWS = 3;

/** Splits the rows between the plugins pane (at most half) and the audit pane. */
export const computeLayout = (rows: number, pluginCount: number): Layout => {
  const body = Math.max(6, rows - 1 - FIXED_ROWS);
  const wanted = 1 + 2 * Math.max(1, pluginCount);
  const plugins = Math.min(wanted, Math.max(3, Math.floor(body / 2)));
  return { plugins, audit: body - plugins };
};
