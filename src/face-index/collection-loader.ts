// Streams one collection from the database into the index: a binary COPY of face_index_entries (face id,
// person id, halfvec embedding; migrations/0005), parsed as it arrives and handed over in batches. On a
// PostgreSQL server the id span is split across a few connections, so the server reads and sends in parallel
// while this process parses and adds. PGlite answers one query at a time: there one COPY streams the whole
// collection (EmbeddedDb.copyOut reads PGlite's protocol stream as the COPY runs, so memory stays bounded).
import type { Db } from '../store/db';
import { copyIndexEntries, splitCollectionRanges, type IndexEntryBatch } from '../store/face-index-queries';

export interface LoadOptions {
  /** Faces per batch handed to onBatch. */
  batchSize?: number;
  /** Concurrent range readers (PostgreSQL server only). */
  parallel?: number;
  /** Faces per COPY on the embedded store (keyset pages); by default one COPY. */
  pageSize?: number;
}

const DEFAULTS = { batchSize: 8192, parallel: 2 };

/** Streams the collection's faces into onBatch (batches are views valid during the call); returns how many. */
export async function loadCollection(db: Db, collectionId: number, onBatch: (batch: IndexEntryBatch) => void, opts: LoadOptions = {}): Promise<number> {
  const batchSize = opts.batchSize ?? DEFAULTS.batchSize;
  if (db.kind === 'embedded') {
    const all = { afterId: -1, upToId: Number.MAX_SAFE_INTEGER };
    return copyIndexEntries(db, collectionId, all, { batchSize, pageSize: opts.pageSize }, onBatch);
  }
  const ranges = await splitCollectionRanges(db, collectionId, Math.max(1, opts.parallel ?? DEFAULTS.parallel));
  const counts = await Promise.all(ranges.map((range) => copyIndexEntries(db, collectionId, range, { batchSize }, onBatch)));
  return counts.reduce((a, b) => a + b, 0);
}
