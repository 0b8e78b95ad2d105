// The SQL search path: pgvector cosine search for collections kept out of memory (collections.in_memory =
// false), exact or through the HNSW index. Scores are cosine similarities (1 - cosine distance).
import type { FaceSearcher } from '../domain/face-search';
import type { FaceHit, SearchOptions } from '../domain/types';
import type { Db } from './db';
import { readPersonNames } from './face-index-queries';
import { vectorToSql } from './vector';

export interface SqlSearchTuning {
  /** exact: a full scan ordered by distance; hnsw: the approximate index (iterative scan, so filters still fill k). */
  mode?: 'exact' | 'hnsw';
  /** HNSW candidate list size (hnsw.ef_search); larger is more exact and slower. */
  efSearch?: number;
}

const MAX_K = 10_000;

/** Best first, each hit with its face's person. */
export async function searchCollectionSql(db: Db, collectionId: number, query: Float32Array, opts: SearchOptions & SqlSearchTuning): Promise<FaceHit[]> {
  const k = Math.max(1, Math.min(Math.floor(opts.k), MAX_K));
  const threshold = opts.threshold ?? -1;
  const vector = vectorToSql(query);
  return db.transaction(async (tx) => {
    let order: string;
    if (opts.mode === 'hnsw') {
      const ef = Math.max(k, Math.min(Math.floor(opts.efSearch ?? 100), 1000));
      await tx.query(`SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`, [String(ef)]);
      order = 'f.embedding <=> $1';
    } else {
      // Adding zero hides the expression from the planner's index matching: a plain exact scan.
      order = '(f.embedding <=> $1) + 0';
    }
    const r = await tx.query<{ face_id: number; cosine: number; person_id: number | null }>(
      `SELECT * FROM (
         SELECT f.id AS face_id, 1 - (f.embedding <=> $1) AS cosine, f.person_id
           FROM faces f JOIN face_collections fc ON fc.face_id = f.id
          WHERE fc.collection_id = $2
          ORDER BY ${order} LIMIT $3) hits
        WHERE cosine >= $4 ORDER BY cosine DESC, face_id`,
      [vector, collectionId, k, threshold],
    );
    return r.rows.map((row) => ({ faceId: row.face_id, cosine: row.cosine, personId: row.person_id }));
  });
}

/** A stateless FaceSearcher over pgvector (exact scans): for tools and stores without the in-memory index. */
export class SqlFaceSearcher implements FaceSearcher {
  constructor(private readonly db: Db) {}

  search(collectionId: number, probe: Float32Array, opts: SearchOptions): Promise<FaceHit[]> {
    return searchCollectionSql(this.db, collectionId, probe, { ...opts, mode: 'exact' });
  }

  personNames(personIds: readonly number[]): Promise<Map<number, string>> {
    return readPersonNames(this.db, [...personIds]);
  }
}
