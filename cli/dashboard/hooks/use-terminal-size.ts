/**
 * The terminal's size, updated when it is resized, so the layout is redrawn
 * to fit. Streams without a size (pipes, test streams) count as 80×24.
 */

import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

/** Columns and rows of the terminal. */
export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

const sizeOf = (stream: NodeJS.WriteStream): TerminalSize => ({ columns: stream.columns || 80, rows: stream.rows || 24 });

/** Returns the terminal's size, or `fixed` when given. */
export const useTerminalSize = (fixed?: TerminalSize): TerminalSize => {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => fixed ?? sizeOf(stdout));

  useEffect(() => {
    if (fixed !== undefined) return;
    const onResize = () => setSize(sizeOf(stdout));
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);

  return fixed ?? size;
};
