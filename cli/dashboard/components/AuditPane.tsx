/**
 * The audit pane: a live tail of audit events, newest at the bottom. It
 * shows the newest rows that fit and, above them, how many more events
 * match the filter. Every one of them is in the audit file.
 */

import { Box, Text } from 'ink';

import type { AuditFilter, FeedView } from '../audit-feed.js';
import { cell, formatCount } from '../format.js';
import { AuditRow } from './AuditRow.js';

/** Props of the audit pane. */
export interface AuditPaneProps {
  readonly view: FeedView;
  readonly filter: AuditFilter;
  readonly paused: boolean;
  readonly arrivedWhilePaused: number;
  /** Lines the pane may use, title included. */
  readonly height: number;
}

/** Returns how many event rows fit in a pane of `height` lines: one for the title, one for the "more" line. */
export const auditRowCount = (height: number): number => Math.max(1, height - 2);

/** Renders the audit pane. */
export const AuditPane = ({ view, filter, paused, arrivedWhilePaused, height }: AuditPaneProps) => {
  const more = view.matching - view.rows.length;
  let moreLine = ' ';
  if (more > 0) moreLine = `  … ${formatCount(more)} more (all in the audit file)`;
  else if (view.rows.length === 0) moreLine = '  no events yet';
  const scope = filter.plugin === undefined ? 'all plugins' : cell(filter.plugin);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate-end">
        {`Audit · ${scope}`}
        {filter.deniedOnly ? <Text color="yellow"> · denied only</Text> : null}
        {paused ? <Text inverse>{` · paused, ${formatCount(arrivedWhilePaused)} new events shown on resume `}</Text> : null}
      </Text>
      <Text dimColor wrap="truncate-end">
        {moreLine}
      </Text>
      {view.rows.map((event) => (
        <AuditRow key={event.seq} event={event} />
      ))}
    </Box>
  );
};
