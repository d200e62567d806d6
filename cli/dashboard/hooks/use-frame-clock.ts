/**
 * The dashboard's frame clock. Audit events may arrive thousands of times a
 * second, but the screen is redrawn at most once per `intervalMs` (66 ms,
 * about 15 frames a second). It is redrawn only when the feed or the notices
 * changed, or once a second for the uptime and the event rate.
 */

import { useEffect, useRef, useState } from 'react';

import type { AuditFeed } from '../audit-feed.js';
import type { NoticeBoard } from '../notice-board.js';

/** One frame: when it was drawn and the event rate then. */
export interface Frame {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly eventsPerSecond: number;
}

/** Returns the latest frame; a new one at most every `intervalMs`. */
export const useFrameClock = (feed: AuditFeed, notices: NoticeBoard, intervalMs: number, now: () => number = Date.now): Frame => {
  const [frame, setFrame] = useState<Frame>(() => ({ time: now(), eventsPerSecond: 0 }));
  const seen = useRef({ feed: -1, notices: -1, time: 0 });

  useEffect(() => {
    const timer = setInterval(() => {
      const time = now();
      const eventsPerSecond = feed.sampleRate(time);
      const last = seen.current;
      const changed = feed.version !== last.feed || notices.version !== last.notices;
      if (!changed && time - last.time < 1000) return;
      seen.current = { feed: feed.version, notices: notices.version, time };
      setFrame({ time, eventsPerSecond });
    }, intervalMs);
    return () => clearInterval(timer);
  }, [feed, notices, intervalMs, now]);

  return frame;
};
