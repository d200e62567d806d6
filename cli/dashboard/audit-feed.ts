/**
 * The dashboard's view of the audit stream. `push` runs once per event on
 * the host's thread, so it only stores a reference and bumps counters. The
 * pane reads the buffers at most ~15 times a second. Memory stays bounded
 * at any event rate, because each buffer keeps only its newest events and
 * the counters tell the pane how many more there were. The audit file is written before
 * an event gets here, so nothing dropped from a buffer is lost.
 */

import type { AuditEvent } from '../../runtime/audit.js';
import { RingBuffer } from './ring-buffer.js';

/** Filter of the audit pane. */
export interface AuditFilter {
  /** Only this plugin's events, when set. */
  readonly plugin?: string;
  /** Only denied calls. */
  readonly deniedOnly: boolean;
}

/** Rows and count of the audit pane for one filter. */
export interface FeedView {
  /** The newest matching events, oldest first. */
  readonly rows: readonly AuditEvent[];
  /** Matching events since the dashboard started, shown or not. */
  readonly matching: number;
}

/** Options of a feed. */
export interface AuditFeedOptions {
  /** Events kept for the unfiltered and denied-only views; default 500. */
  readonly capacity?: number;
  /** Events kept per plugin for the filtered views; default 200. */
  readonly pluginCapacity?: number;
}

/** The buffers of one moment: live, or frozen by a pause. */
interface FeedBuffers {
  readonly all: RingBuffer<AuditEvent>;
  readonly denied: RingBuffer<AuditEvent>;
  readonly byPlugin: Map<string, RingBuffer<AuditEvent>>;
  readonly deniedByPlugin: Map<string, RingBuffer<AuditEvent>>;
}

const cloneBuffers = (buffers: FeedBuffers): FeedBuffers => ({
  all: buffers.all.clone(),
  denied: buffers.denied.clone(),
  byPlugin: new Map([...buffers.byPlugin].map(([name, ring]) => [name, ring.clone()])),
  deniedByPlugin: new Map([...buffers.deniedByPlugin].map(([name, ring]) => [name, ring.clone()])),
});

/** Samples kept to compute the event rate; at ~15 samples a second this spans about 2 s. */
const RATE_SAMPLES = 32;

/** Bounded buffers and counters over the audit events a dashboard receives. */
export class AuditFeed {
  readonly #pluginCapacity: number;
  readonly #live: FeedBuffers;
  #frozen: FeedBuffers | undefined;
  #version = 0;
  readonly #samples: Array<{ readonly time: number; readonly total: number }> = [];

  constructor(options: AuditFeedOptions = {}) {
    const capacity = options.capacity ?? 500;
    this.#pluginCapacity = options.pluginCapacity ?? 200;
    this.#live = { all: new RingBuffer(capacity), denied: new RingBuffer(capacity), byPlugin: new Map(), deniedByPlugin: new Map() };
  }

  /** Events received. */
  get total(): number {
    return this.#live.all.total;
  }

  /** Denied calls received. */
  get denied(): number {
    return this.#live.denied.total;
  }

  /** Changes whenever an event arrives or the pause state changes; the pane re-renders only then. */
  get version(): number {
    return this.#version;
  }

  /** True while the pane is frozen. */
  get paused(): boolean {
    return this.#frozen !== undefined;
  }

  /** Events received since the pause began, 0 when not paused. */
  get arrivedWhilePaused(): number {
    return this.#frozen === undefined ? 0 : this.#live.all.total - this.#frozen.all.total;
  }

  /** Takes one event. */
  push(event: AuditEvent): void {
    const { all, denied, byPlugin, deniedByPlugin } = this.#live;
    all.push(event);
    this.#ring(byPlugin, event.plugin).push(event);
    if (event.outcome === 'denied') {
      denied.push(event);
      this.#ring(deniedByPlugin, event.plugin).push(event);
    }
    this.#version += 1;
  }

  /** Freezes what `view` returns; events still arrive and are counted. */
  pause(): void {
    if (this.#frozen !== undefined) return;
    this.#frozen = cloneBuffers(this.#live);
    this.#version += 1;
  }

  /** Shows live events again, those that arrived while paused included. */
  resume(): void {
    if (this.#frozen === undefined) return;
    this.#frozen = undefined;
    this.#version += 1;
  }

  /** Returns the newest `count` events that match `filter`, and how many match in all. */
  view(filter: AuditFilter, count: number): FeedView {
    const buffers = this.#frozen ?? this.#live;
    let ring: RingBuffer<AuditEvent> | undefined;
    if (filter.plugin === undefined) ring = filter.deniedOnly ? buffers.denied : buffers.all;
    else ring = (filter.deniedOnly ? buffers.deniedByPlugin : buffers.byPlugin).get(filter.plugin);
    if (ring === undefined) return { rows: [], matching: 0 };
    return { rows: ring.latest(count), matching: ring.total };
  }

  /** Records the count at `now` (ms) and returns events per second over about the last second. */
  sampleRate(now: number): number {
    const total = this.total;
    this.#samples.push({ time: now, total });
    if (this.#samples.length > RATE_SAMPLES) this.#samples.shift();

    // The newest sample at least one second old, else the oldest there is.
    let base = this.#samples[0]!;
    for (const sample of this.#samples) {
      if (now - sample.time >= 1000) base = sample;
      else break;
    }
    const elapsed = now - base.time;
    return elapsed <= 0 ? 0 : ((total - base.total) * 1000) / elapsed;
  }

  #ring(map: Map<string, RingBuffer<AuditEvent>>, plugin: string): RingBuffer<AuditEvent> {
    let ring = map.get(plugin);
    if (ring === undefined) {
      ring = new RingBuffer(this.#pluginCapacity);
      map.set(plugin, ring);
    }
    return ring;
  }
}
