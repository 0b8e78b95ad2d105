// What the domain needs from a face search and from whoever keeps search state in step with writes. The
// in-memory face index (src/face-index/) implements both; SqlFaceSearcher (src/store/vector-search.ts) searches
// through pgvector on any store without keeping state.
import type { FaceHit, SearchOptions } from './types';

export interface FaceSearcher {
  /** The collection's faces nearest the probe, best first, each with its person. */
  search(collectionId: number, probe: Float32Array, opts: SearchOptions): Promise<FaceHit[]>;
  /** Names of the given persons; deleted ones are absent. */
  personNames(personIds: readonly number[]): Promise<Map<number, string>>;
  /** How many faces a search of the collection compares, when known without a query (undefined: not known). */
  comparedCount?(collectionId: number): number | undefined;
}

/** Told after a write has committed, so that a search starting afterwards sees it. */
export interface FaceChangeSink {
  /** Faces added, removed, moved between collections or persons. */
  facesChanged(faceIds: readonly number[]): Promise<void>;
  /** Persons renamed (cached names are dropped at once). */
  personsChanged(personIds: readonly number[]): void;
}

/** For searchers that keep no state. */
export const NO_FACE_CHANGE_SINK: FaceChangeSink = { facesChanged: async () => {}, personsChanged: () => {} };
