/**
 * One audit event on one line: time (UTC, to the second), plugin, `cap.op`,
 * outcome, duration, target, and what a person needs next: the capability a
 * denied call needed, the code and message of an error, or a log message.
 */

import { Text } from 'ink';

import type { AuditEvent } from '../../../runtime/audit.js';
import { cell, fit, formatClock } from '../format.js';
import { OUTCOME_COLORS } from '../styles.js';

/** Props of one audit row. */
export interface AuditRowProps {
  readonly event: AuditEvent;
}

/** Returns the text after the target: needed capability, error or log message. */
export const auditDetail = (event: AuditEvent): string => {
  if (event.outcome === 'denied' && typeof event.needed === 'string') return `needs ${cell(event.needed)}`;
  if (event.error !== undefined) return cell(`${String(event.error.code)}: ${String(event.error.message)}`);
  if (event.cap === 'log' && typeof event.message === 'string') return cell(event.message);
  if (event.op === 'grants') {
    const granted = Array.isArray(event.granted) ? event.granted.map(String) : [];
    const revoked = Array.isArray(event.revoked) ? event.revoked.map(String) : [];
    return cell([...granted.map((text) => `+${text}`), ...revoked.map((text) => `-${text}`)].join(' '));
  }
  return '';
};

/** Renders one audit event. A denied row puts the needed capability before the target, so it is not cut first. */
export const AuditRow = ({ event }: AuditRowProps) => {
  const ms = typeof event.ms === 'number' ? `${event.ms.toFixed(1)}ms` : '';
  const detail = auditDetail(event);
  const target = event.target === undefined ? '' : cell(String(event.target));
  const detailColor = event.outcome === 'allowed' ? undefined : OUTCOME_COLORS[event.outcome];
  const denied = event.outcome === 'denied';
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{formatClock(event.time)}</Text>
      {` ${fit(cell(event.plugin), 10)} ${fit(cell(`${event.cap}.${event.op}`), 14)} `}
      <Text color={OUTCOME_COLORS[event.outcome]}>{fit(event.outcome, 7)}</Text>
      {` ${ms.padStart(7)} `}
      {denied ? <Text color={detailColor}>{`${detail}  `}</Text> : null}
      {target}
      {!denied && detail !== '' ? <Text color={detailColor}>{`  ${detail}`}</Text> : null}
    </Text>
  );
};
