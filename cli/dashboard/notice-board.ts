/**
 * One-line messages for the person at the dashboard: the host's reports
 * (a lockfile edit that failed validation, a plugin that failed to start)
 * and the outcome of a key such as `g`. While Ink owns the terminal, nothing
 * else may write to it, so these take the place of messages on stderr.
 */

/** Colour class of a notice. */
export type NoticeLevel = 'info' | 'error';

/** One notice. */
export interface Notice {
  readonly text: string;
  readonly level: NoticeLevel;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

/** The latest notices, newest last, at most `capacity` of them. */
export class NoticeBoard {
  readonly #capacity: number;
  readonly #notices: Notice[] = [];
  #version = 0;

  constructor(capacity = 20) {
    this.#capacity = capacity;
  }

  /** Changes with every new notice. */
  get version(): number {
    return this.#version;
  }

  /** Adds a notice; the text is escaped when drawn, not here. */
  post(text: string, level: NoticeLevel = 'info', time = Date.now()): void {
    this.#notices.push({ text, level, time });
    if (this.#notices.length > this.#capacity) this.#notices.shift();
    this.#version += 1;
  }

  /** Returns the newest notice, if any. */
  latest(): Notice | undefined {
    return this.#notices.at(-1);
  }
}
