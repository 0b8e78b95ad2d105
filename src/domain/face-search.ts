// Nearest enrolled faces of a collection for a probe embedding. The SQL searcher (pgvector, exact) works on
// every store; the in-memory index plugs in behind the same interface when it is available.
import type { Db } from '../store/db';
import { readFacePersons, readPersonNames } from '../store/face-index-queries';
import { searchCollectionSql } from '../store/vector-search';

export interface FaceHit {
  faceId: number;
  /** Cosine similarity of the unit embeddings. */
  cosine: number;
  /** The face's person (subject); null when it has none. */
  personId: number | null;
}

export interface FaceSearcher {
  search(collectionId: number, embedding: Float32Array, k: number): Promise<FaceHit[]>;
  /** Names of the given persons; deleted ones are absent. */
  personNames(personIds: number[]): Promise<Map<number, string>>;
}

/**
 * Told after a write has committed which faces it added or removed, so a search that starts afterwards sees the
 * change (the in-memory index re-reads them from the database).
 */
export interface FaceChangeSink {
  facesChanged(faceIds: number[]): Promise<void>;
  /** Told after a rename has committed, so cached names are dropped at once. */
  personsChanged(personIds: number[]): void;
}

/** For stores searched through SQL: nothing to keep in step. */
export const NO_FACE_CHANGE_SINK: FaceChangeSink = { facesChanged: async () => {}, personsChanged: () => {} };

export class SqlFaceSearcher implements FaceSearcher {
  constructor(private readonly db: Db) {}

  async search(collectionId: number, embedding: Float32Array, k: number): Promise<FaceHit[]> {
    const hits = await searchCollectionSql(this.db, collectionId, embedding, { k, mode: 'exact' });
    const persons = hits.length ? await readFacePersons(this.db, hits.map((h) => h.faceId)) : new Map<number, number>();
    return hits.map((h) => ({ faceId: h.faceId, cosine: h.similarity, personId: persons.get(h.faceId) ?? null }));
  }

  personNames(personIds: number[]): Promise<Map<number, string>> {
    return readPersonNames(this.db, personIds);
  }
}

/** The part of the in-memory face index (src/domain/face-index.ts) the services use. */
export interface FaceIndexLike {
  search(collectionId: number, query: Float32Array, opts: { k: number }): Promise<{ faceId: number; similarity: number; personId: number | null }[]>;
  refreshFaces(faceIds: number[]): Promise<void>;
  personNames(personIds: readonly number[]): Promise<Map<number, string>>;
  personsChanged(personIds: readonly number[]): void;
}

/** Searches through the in-memory index and keeps it told of committed writes. */
export class IndexFaceSearcher implements FaceSearcher, FaceChangeSink {
  constructor(private readonly index: FaceIndexLike) {}

  async search(collectionId: number, embedding: Float32Array, k: number): Promise<FaceHit[]> {
    const hits = await this.index.search(collectionId, embedding, { k });
    return hits.map((h) => ({ faceId: h.faceId, cosine: h.similarity, personId: h.personId }));
  }

  personNames(personIds: number[]): Promise<Map<number, string>> {
    return this.index.personNames(personIds);
  }

  facesChanged(faceIds: number[]): Promise<void> {
    return this.index.refreshFaces(faceIds);
  }

  personsChanged(personIds: number[]): void {
    this.index.personsChanged(personIds);
  }
}
