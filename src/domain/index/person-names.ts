// Person names for search results without a query per request: a bounded cache in front of the persons table.
// Renames reach every instance as notifications (migrations/0005, channel faceserver_persons) and drop the
// cached name; the face index also clears the whole cache at each version check, so a lost notification
// leaves a stale name for one check interval at most.
import type { Queryable } from '../../store/db';
import { readPersonNames } from '../../store/face-index-queries';

export const PERSON_CHANGES_CHANNEL = 'faceserver_persons';

export class PersonNames {
  private readonly names = new Map<number, string>();
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
    for (const id of new Set(personIds)) {
      const name = this.names.get(id);
      if (name === undefined) missing.push(id);
      else found.set(id, name);
    }
    if (!missing.length) return found;
    const epoch = this.epoch;
    const read = await readPersonNames(this.db, missing);
    for (const [id, name] of read) {
      found.set(id, name);
      if (epoch === this.epoch) this.remember(id, name);
    }
    return found;
  }

  /** Drops the given persons' names (a rename committed). */
  forget(personIds: Iterable<number>): void {
    this.epoch++;
    for (const id of personIds) this.names.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.names.clear();
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
