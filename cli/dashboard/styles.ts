/**
 * Symbols and colours of plugin phases and audit outcomes. A phase has a
 * symbol as well as a colour, so it reads on a terminal without colours.
 */

import type { PluginPhase } from '../../runtime/plugin-stats.js';

/** Symbol and colour of one phase. */
export interface PhaseStyle {
  readonly symbol: string;
  readonly color: string;
}

/** Symbol and colour of each phase. */
export const PHASE_STYLES: Readonly<Record<PluginPhase, PhaseStyle>> = {
  starting: { symbol: '◐', color: 'yellow' },
  running: { symbol: '●', color: 'green' },
  stopped: { symbol: '■', color: 'gray' },
  crashed: { symbol: '✖', color: 'red' },
  refused: { symbol: '⊘', color: 'magenta' },
};

/** Colour of each audit outcome. */
export const OUTCOME_COLORS: Readonly<Record<string, string>> = {
  allowed: 'green',
  denied: 'yellow',
  error: 'red',
};
