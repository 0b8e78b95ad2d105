// Person names for search results without a query per request: a bounded cache in front of the persons table.
// Renames reach every instance as notifications (migrations/0005, channel faceserver_persons) and drop the
// cached name; the face index also compares the count of committed renames (migrations/0006) at each version
// check and starts afresh when it moved, so a lost notification leaves a stale name for one interval at most.
// Concurrent requests missing the same names share one read.
import type { Queryable } from '../store/db';
import { readPersonNames } from '../store/face-index-queries';

export const PERSON_CHANGES_CHANNEL = 'faceserver_persons';

export class PersonNames {
  private readonly names = new Map<number, string>();
  /** Reads under way, by person id: a request missing a name that is being read waits for that read. */
  private readonly reading = new Map<number, Promise<Map<number, string>>>();
  /** Bumped by every invalidation: a read that overlapped one is returned but not cached. */
  private epoch = 0;

  constructor(
    private readonly db: Queryable,
    private readonly maxEntries = 100_000,
  ) {}

  /** Names of the given persons (one query for those not cached); unknown (deleted) persons are absent. */
  async resolve(personIds: readonly number[]): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    const missing: number[] = [];
    const waiting: [number, Promise<Map<number, string>>][] = [];
    for (const id of new Set(personIds)) {
      const name = this.names.get(id);
      const read = this.reading.get(id);
      if (name !== undefined) found.set(id, name);
      else if (read) waiting.push([id, read]);
      else missing.push(id);
    }
    if (missing.length) {
      const read = this.read(missing);
      for (const id of missing) waiting.push([id, read]);
    }
    for (const [id, read] of waiting) {
      const name = (await read).get(id);
      if (name !== undefined) found.set(id, name);
    }
    return found;
  }

  /** Drops the given persons' names (a rename committed). */
  forget(personIds: Iterable<number>): void {
    this.epoch++;
    for (const id of personIds) {
      this.names.delete(id);
      this.reading.delete(id); // a read started before the rename may return the old name: later requests re-read
    }
  }

  clear(): void {
    this.epoch++;
    this.names.clear();
    this.reading.clear();
  }

  /** One query for names nobody is reading yet; remembered unless an invalidation overlapped it. */
  private read(ids: number[]): Promise<Map<number, string>> {
    const epoch = this.epoch;
    const read = readPersonNames(this.db, ids).then((names) => {
      if (epoch === this.epoch) for (const [id, name] of names) this.remember(id, name);
      return names;
    });
    const settled = () => {
      for (const id of ids) if (this.reading.get(id) === read) this.reading.delete(id);
    };
    read.then(settled, settled); // every caller awaits `read` itself: this branch only tidies up
    for (const id of ids) this.reading.set(id, read);
    return read;
  }

  get size(): number {
    return this.names.size;
  }

  private remember(id: number, name: string): void {
    // Oldest first out: a Map iterates in insertion order.
    if (this.names.size >= this.maxEntries) this.names.delete(this.names.keys().next().value!);
    this.names.set(id, name);
  }
}

/** Parses a person change payload (the person id); undefined when it is not one. */
export function parsePersonChange(payload: string): number | undefined {
  const id = Number(payload);
  return /^\d+$/.test(payload) && Number.isSafeInteger(id) ? id : undefined;
}
