/**
 * Text helpers of the dashboard. Plugin-supplied text reaches the screen
 * only through `cell`. It escapes controls, escape sequences, bidi and
 * zero-width marks as every other command does. It also escapes newlines
 * and tabs, which inside a one-line row would start a forged row or shift
 * the columns.
 */

import { escapeForTerminal } from '../output.js';

/** Escapes a plugin- or manifest-supplied string for one cell of a row. */
export const cell = (text: string): string => escapeForTerminal(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');

/** Cuts `text` to `width` code points, ending with `…` when cut, and pads it with spaces to `width`. */
export const fit = (text: string, width: number): string => {
  if (width <= 0) return '';
  const points = Array.from(text);
  if (points.length > width) return `${points.slice(0, width - 1).join('')}…`;
  return text + ' '.repeat(width - points.length);
};

/** Formats a byte count with a binary unit: `512B`, `12.4K`, `3.1M`, `1.2G`. */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${Math.round(bytes)}B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)}K`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${(bytes / 1024 ** 3).toFixed(1)}G`;
};

/** Formats a 0-to-1 ratio as a percentage, one decimal below 10 %. */
export const formatPercent = (ratio: number): string => {
  const percent = Math.max(0, ratio) * 100;
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
};

/** Formats a count with thousands separators: `12,345`. */
export const formatCount = (count: number): string => Math.round(count).toLocaleString('en-US');

/** Formats a rate per second: one decimal below 10, so that one event every two seconds reads `0.5`, not `0`. */
export const formatRate = (perSecond: number): string => {
  const rate = Math.max(0, perSecond);
  return rate < 10 ? rate.toFixed(1) : formatCount(rate);
};

/** Formats a duration in milliseconds as `45s`, `12m05s` or `3h02m`. */
export const formatUptime = (ms: number): string => {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
};

/** Returns the `HH:MM:SS` part of an ISO time, in UTC as the audit log writes it. */
export const formatClock = (isoTime: string): string => isoTime.slice(11, 19);
