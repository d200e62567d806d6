/**
 * A readable one-line form of an audit event, for `plugrun start` on a
 * terminal. Every plugin-supplied string is escaped first.
 */

import type { AuditEvent } from '../runtime/audit.js';
import { escapeForTerminal } from './output.js';

const paint = (enabled: boolean, code: number, text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);

const OUTCOME_COLORS: Record<string, number> = { allowed: 32, denied: 33, error: 31 };

/** Formats an event as `time plugin cap.op target outcome ms`, with the details a person needs. */
export const formatEventLine = (event: AuditEvent, color: boolean): string => {
  const time = event.time.slice(11, 23);
  const parts = [
    paint(color, 2, time),
    paint(color, 1, escapeForTerminal(event.plugin)),
    `${event.cap}.${escapeForTerminal(event.op)}`,
  ];
  if (event.target) parts.push(escapeForTerminal(event.target));
  parts.push(paint(color, OUTCOME_COLORS[event.outcome] ?? 0, event.outcome));
  if (typeof event.ms === 'number') parts.push(`${event.ms.toFixed(1)}ms`);
  if (event.cap === 'log' && typeof event.message === 'string') parts.push(escapeForTerminal(event.message));
  if (event.needed) parts.push(`needs ${escapeForTerminal(event.needed)}`);
  if (event.error) parts.push(escapeForTerminal(`${event.error.code}: ${event.error.message}`));
  return parts.join('  ');
};
