/**
 * A fixed-capacity buffer that keeps the newest items, for the audit pane:
 * at any event rate it keeps at most `capacity` events and counts the rest.
 */

/** The newest `capacity` items pushed, and how many were pushed in all. */
export class RingBuffer<T> {
  readonly capacity: number;
  #items: T[];
  #next = 0;
  #total = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#items = [];
  }

  /** Items pushed since the buffer was made, kept or not. */
  get total(): number {
    return this.#total;
  }

  /** Adds an item, dropping the oldest when full. */
  push(item: T): void {
    if (this.#items.length < this.capacity) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    this.#total += 1;
  }

  /** Returns up to `count` of the newest items, oldest first. */
  latest(count: number): T[] {
    const kept = this.#items.length;
    const take = Math.max(0, Math.min(count, kept));
    const result: T[] = [];
    // When full, the oldest item sits at #next; before that, at 0.
    const oldest = kept < this.capacity ? 0 : this.#next;
    for (let index = kept - take; index < kept; index += 1) result.push(this.#items[(oldest + index) % kept]!);
    return result;
  }

  /** Returns an independent copy with the same items and total. */
  clone(): RingBuffer<T> {
    const copy = new RingBuffer<T>(this.capacity);
    copy.#items = [...this.#items];
    copy.#next = this.#next;
    copy.#total = this.#total;
    return copy;
  }
}
