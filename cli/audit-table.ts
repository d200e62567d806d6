/**
 * The readable table of `plugrun audit`: one row per event with its
 * sequence number, time, plugin, `cap.op`, outcome, duration, target and
 * the detail a person needs (log message, capability needed, error). Every
 * field that a plugin or a file can supply is escaped first.
 */

import type { AuditEvent } from '../runtime/audit.js';
import { escapeForTerminal } from './output.js';

const HEADINGS = ['SEQ', 'TIME', 'PLUGIN', 'EVENT', 'OUTCOME', 'MS', 'TARGET', 'DETAIL'] as const;

const OUTCOME_COLORS: Record<string, number> = { allowed: 32, denied: 33, error: 31 };

/** One line, with tabs and newlines of plugin text made visible, so a row stays one row. */
const oneLine = (text: string): string => escapeForTerminal(text).replace(/\t/g, '\\t').replace(/\r?\n/g, '\\n');

/** The detail column: the log message, the capability needed, or the error. */
const detailOf = (event: AuditEvent): string => {
  const parts: string[] = [];
  if (event.cap === 'log' && typeof event.message === 'string') parts.push(event.message);
  if (typeof event.needed === 'string') parts.push(`needs ${event.needed}`);
  if (event.error !== undefined && typeof event.error === 'object') parts.push(`${event.error.code}: ${event.error.message}`);
  return oneLine(parts.join('; '));
};

/** Splits an event into the table's cells, escaped. */
export const tableCells = (event: AuditEvent): string[] => [
  String(event.seq),
  oneLine(String(event.time)),
  oneLine(String(event.plugin)),
  oneLine(`${String(event.cap)}.${String(event.op)}`),
  oneLine(String(event.outcome)),
  typeof event.ms === 'number' ? event.ms.toFixed(1) : '-',
  oneLine(typeof event.target === 'string' ? event.target : '-'),
  detailOf(event),
];

/** Formats rows as aligned columns; widths grow to fit and are kept for later rows. */
export class AuditTable {
  readonly #color: boolean;
  readonly #widths: number[] = HEADINGS.map((heading) => heading.length);

  /** Makes a table; with `color`, outcomes are coloured. */
  constructor(color: boolean) {
    this.#color = color;
  }

  /** Returns the heading line and the rows for these events, widths fitted to them. */
  format(events: readonly AuditEvent[]): string[] {
    const rows = events.map(tableCells);
    for (const row of rows) this.#fit(row);
    return [this.#line([...HEADINGS], false), ...rows.map((row) => this.#line(row, this.#color))];
  }

  /** Returns one row for a followed event. */
  row(event: AuditEvent): string {
    const cells = tableCells(event);
    this.#fit(cells);
    return this.#line(cells, this.#color);
  }

  #fit(cells: readonly string[]) {
    cells.forEach((cell, index) => {
      this.#widths[index] = Math.max(this.#widths[index]!, cell.length);
    });
  }

  #line(cells: readonly string[], color: boolean): string {
    const padded = cells.map((cell, index) => {
      // The last column is not padded, so lines carry no trailing spaces.
      const text = index === cells.length - 1 ? cell : cell.padEnd(this.#widths[index]!);
      const code = index === 4 ? OUTCOME_COLORS[cell] : undefined;
      return color && code !== undefined ? `\u001b[${code}m${text}\u001b[0m` : text;
    });
    return padded.join('  ').trimEnd();
  }
}
