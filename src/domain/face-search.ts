// Nearest enrolled faces of a collection for a probe embedding. The SQL searcher (pgvector, exact) works on
// every store; the in-memory index plugs in behind the same interface when it is available.
import type { Db } from '../store/db';
import { searchCollectionSql } from '../store/vector-search';

export interface FaceHit {
  faceId: number;
  /** Cosine similarity of the unit embeddings. */
  cosine: number;
}

export interface FaceSearcher {
  search(collectionId: number, embedding: Float32Array, k: number): Promise<FaceHit[]>;
}

/**
 * Told after a write has committed which faces it added or removed, so a search that starts afterwards sees the
 * change (the in-memory index re-reads them from the database).
 */
export interface FaceChangeSink {
  facesChanged(faceIds: number[]): Promise<void>;
}

/** For stores searched through SQL: nothing to keep in step. */
export const NO_FACE_CHANGE_SINK: FaceChangeSink = { facesChanged: async () => {} };

export class SqlFaceSearcher implements FaceSearcher {
  constructor(private readonly db: Db) {}

  async search(collectionId: number, embedding: Float32Array, k: number): Promise<FaceHit[]> {
    const hits = await searchCollectionSql(this.db, collectionId, embedding, { k, mode: 'exact' });
    return hits.map((h) => ({ faceId: h.faceId, cosine: h.similarity }));
  }
}

/** The part of the in-memory face index (src/domain/face-index.ts) the services use. */
export interface FaceIndexLike {
  search(collectionId: number, query: Float32Array, opts: { k: number }): Promise<{ faceId: number; similarity: number }[]>;
  refreshFaces(faceIds: number[]): Promise<void>;
}

/** Searches through the in-memory index and keeps it told of committed writes. */
export class IndexFaceSearcher implements FaceSearcher, FaceChangeSink {
  constructor(private readonly index: FaceIndexLike) {}

  async search(collectionId: number, embedding: Float32Array, k: number): Promise<FaceHit[]> {
    const hits = await this.index.search(collectionId, embedding, { k });
    return hits.map((h) => ({ faceId: h.faceId, cosine: h.similarity }));
  }

  facesChanged(faceIds: number[]): Promise<void> {
    return this.index.refreshFaces(faceIds);
  }
}
