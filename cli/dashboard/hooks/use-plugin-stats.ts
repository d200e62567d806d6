/**
 * Polls the source for every plugin's figures, once a second by default,
 * and at once when `refresh` is called (after a grant change).
 */

import { useCallback, useEffect, useRef, useState } from 'react';

import type { PluginStats } from '../../../runtime/plugin-stats.js';
import type { DashboardSource } from '../source.js';

/** The latest figures and a function that fetches them now. */
export interface PluginStatsState {
  readonly plugins: readonly PluginStats[];
  readonly refresh: () => void;
}

/** Returns the plugins' figures, polled every `intervalMs`. */
export const usePluginStats = (source: DashboardSource, intervalMs: number): PluginStatsState => {
  const [plugins, setPlugins] = useState<readonly PluginStats[]>([]);
  const busy = useRef(false);
  const mounted = useRef(true);

  const refresh = useCallback(() => {
    // One sample at a time: a slow worker must not pile up requests.
    if (busy.current) return;
    busy.current = true;
    source
      .stats()
      .then((next) => {
        if (mounted.current) setPlugins(next);
      })
      .catch((error: unknown) => source.notices.post(`plugin figures not updated: ${String(error)}`, 'error'))
      .finally(() => {
        busy.current = false;
      });
  }, [source]);

  useEffect(() => {
    mounted.current = true;
    refresh();
    const timer = setInterval(refresh, intervalMs);
    return () => {
      mounted.current = false;
      clearInterval(timer);
    };
  }, [refresh, intervalMs]);

  return { plugins, refresh };
};
