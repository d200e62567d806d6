/**
 * The footer: the latest notice (the outcome of a key, a host report such as
 * a rejected lockfile edit) and the keys.
 */

import { Box, Text } from 'ink';

import { cell } from '../format.js';
import type { Notice } from '../notice-board.js';

/** Props of the footer. */
export interface FooterProps {
  readonly notice?: Notice;
}

/** The keys line, also used by the help panel's test. */
export const KEYS_LINE = '↑/↓ select  ⏎ filter  d denied  p pause  g grant  r revoke  ? help  q quit';

/** The footer. */
export const Footer = ({ notice }: FooterProps) => (
  <Box flexDirection="column">
    <Text wrap="truncate-end" color={notice?.level === 'error' ? 'red' : 'cyan'}>
      {notice === undefined ? ' ' : cell(notice.text)}
    </Text>
    <Text dimColor wrap="truncate-end">
      {KEYS_LINE}
    </Text>
  </Box>
);
