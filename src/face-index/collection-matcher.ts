// What the face index needs from the 1:N matcher of one collection. The native SIMD matcher
// (src/engine/matcher.ts) is the production implementation; ExactMatcher below is the plain float
// brute-force reference: tests compare against it, and it serves when the native matcher is unavailable.
import { EMBEDDING_DIM, type FaceHit, type SearchOptions } from '../domain/types';

export interface CollectionMatcher {
  readonly size: number;
  /**
   * Adds the faces, replacing any already present; embeddings holds ids.length x 512 floats, unit length or
   * nearly (half precision from the index load): matchers normalise them. Both arrays are copied.
   */
  upsert(ids: ArrayLike<number>, embeddings: Float32Array): void;
  /** Room for `count` faces in total, before a bulk load of a known size (no regrowth while it streams). */
  reserve?(count: number): void;
  remove(id: number): boolean;
  has(id: number): boolean;
  /** Best first; hits carry no person (personId null): the face index adds it. */
  search(query: Float32Array, opts: SearchOptions): Promise<FaceHit[]>;
  memoryBytes(): number;
  /** Frees native memory; the matcher is not used afterwards. */
  dispose(): void;
}

export type MatcherFactory = () => CollectionMatcher;

/** Float cosine by brute force over dense arrays (normalised on upsert), swap-remove on delete (no holes). */
export class ExactMatcher implements CollectionMatcher {
  private vectors = new Float32Array(0);
  private ids: number[] = [];
  private readonly slotOf = new Map<number, number>();

  get size(): number {
    return this.ids.length;
  }

  upsert(ids: ArrayLike<number>, embeddings: Float32Array): void {
    if (embeddings.length !== ids.length * EMBEDDING_DIM) throw new RangeError('embeddings must hold ids.length x 512 values');
    this.reserve(this.ids.length + ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      let slot = this.slotOf.get(id);
      if (slot === undefined) {
        slot = this.ids.length;
        this.ids.push(id);
        this.slotOf.set(id, slot);
      }
      const v = embeddings.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM);
      let norm = 0;
      for (let j = 0; j < EMBEDDING_DIM; j++) norm += v[j] * v[j];
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = 0; j < EMBEDDING_DIM; j++) this.vectors[slot * EMBEDDING_DIM + j] = v[j] * inv;
    }
  }

  remove(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    const last = this.ids.length - 1;
    if (slot !== last) {
      const movedId = this.ids[last];
      this.ids[slot] = movedId;
      this.slotOf.set(movedId, slot);
      this.vectors.copyWithin(slot * EMBEDDING_DIM, last * EMBEDDING_DIM, (last + 1) * EMBEDDING_DIM);
    }
    this.ids.pop();
    this.slotOf.delete(id);
    return true;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  async search(query: Float32Array, opts: SearchOptions): Promise<FaceHit[]> {
    return this.searchSync(query, opts);
  }

  searchSync(query: Float32Array, { k, threshold = -Infinity }: SearchOptions): FaceHit[] {
    if (query.length !== EMBEDDING_DIM) throw new RangeError(`query must have ${EMBEDDING_DIM} values`);
    const hits: FaceHit[] = [];
    const v = this.vectors;
    for (let s = 0; s < this.ids.length; s++) {
      let dot = 0;
      const base = s * EMBEDDING_DIM;
      for (let j = 0; j < EMBEDDING_DIM; j++) dot += v[base + j] * query[j];
      if (dot >= threshold) hits.push({ faceId: this.ids[s], cosine: dot, personId: null });
    }
    hits.sort((a, b) => b.cosine - a.cosine || a.faceId - b.faceId);
    return hits.slice(0, Math.max(0, k));
  }

  /** Every face id held, for consistency checks. */
  allIds(): number[] {
    return [...this.ids];
  }

  memoryBytes(): number {
    return this.vectors.byteLength + this.ids.length * 8 + this.slotOf.size * 40;
  }

  dispose(): void {
    this.vectors = new Float32Array(0);
    this.ids = [];
    this.slotOf.clear();
  }

  reserve(count: number): void {
    if (count * EMBEDDING_DIM <= this.vectors.length) return;
    const grown = new Float32Array(Math.max(count, Math.ceil(this.ids.length * 1.5), 64) * EMBEDDING_DIM);
    grown.set(this.vectors.subarray(0, this.ids.length * EMBEDDING_DIM));
    this.vectors = grown;
  }
}
