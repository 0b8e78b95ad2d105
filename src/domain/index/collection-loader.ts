// Streams one collection from the database into a matcher. On a PostgreSQL server the id range is split
// across a few connections so the server reads in parallel; the embedded store runs them one after another.
import type { Db } from '../../store/db';
import { copyCollectionEmbeddings, splitCollectionRanges, streamCollectionEmbeddings, type EmbeddingFormat } from '../../store/face-index-queries';
import type { CollectionMatcher } from './collection-matcher';

export interface LoadOptions {
  batchSize?: number;
  /** Concurrent range readers (PostgreSQL server only). */
  parallel?: number;
  /** How rows travel: 'copy' (binary COPY, PostgreSQL server only; the default there), or query batches. */
  format?: EmbeddingFormat | 'copy';
}

export async function loadCollection(db: Db, collectionId: number, matcher: CollectionMatcher, opts: LoadOptions = {}): Promise<number> {
  const parallel = db.kind === 'postgres' ? Math.max(1, opts.parallel ?? 2) : 1;
  const ranges = parallel > 1 ? await splitCollectionRanges(db, collectionId, parallel) : [{ afterId: -1, upToId: Number.MAX_SAFE_INTEGER }];
  let loaded = 0;
  const format = opts.format ?? (db.copyOut ? 'copy' : 'binary');
  await Promise.all(
    ranges.map(async (range) => {
      if (format === 'copy') {
        await copyCollectionEmbeddings(db, collectionId, range, opts.batchSize ?? 20_000, (batch) => {
          matcher.upsert(batch.ids, batch.embeddings);
          loaded += batch.ids.length;
        });
        return;
      }
      for await (const batch of streamCollectionEmbeddings(db, collectionId, { ...range, batchSize: opts.batchSize, format })) {
        matcher.upsert(batch.ids, batch.embeddings);
        loaded += batch.ids.length;
      }
    }),
  );
  return loaded;
}
