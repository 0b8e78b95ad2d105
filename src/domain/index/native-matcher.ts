// The production CollectionMatcher: the native SIMD matcher (src/engine/matcher.ts), two-stage search
// (sign-code pre-filter, int8 rescoring) by default.
import { FaceIndex as NativeIndex, type SearchOptions as NativeSearchOptions } from '../../engine/matcher';
import type { CollectionMatcher, SearchHit, SearchOptions } from './collection-matcher';

export class NativeMatcher implements CollectionMatcher {
  private readonly index = new NativeIndex();

  constructor(private readonly searchDefaults: NativeSearchOptions = {}) {}

  get size(): number {
    return this.index.size;
  }

  upsert(ids: ArrayLike<number>, embeddings: Float32Array): void {
    this.index.addBatch(ids instanceof Float64Array ? ids : Float64Array.from(ids), embeddings);
  }

  reserve(count: number): void {
    this.index.reserve(count);
  }

  remove(id: number): boolean {
    return this.index.remove(id);
  }

  has(id: number): boolean {
    return this.index.has(id);
  }

  async search(query: Float32Array, opts: SearchOptions): Promise<SearchHit[]> {
    const matches = await this.index.search(query, { ...this.searchDefaults, k: opts.k, threshold: opts.threshold ?? -1 });
    return matches.map((m) => ({ faceId: m.id, similarity: m.score }));
  }

  memoryBytes(): number {
    return this.index.memoryBytes();
  }

  dispose(): void {
    this.index.clear();
  }
}

/** A factory for FaceIndex: native matchers with the given search defaults. */
export const nativeMatchers =
  (searchDefaults: NativeSearchOptions = {}) =>
  (): CollectionMatcher =>
    new NativeMatcher(searchDefaults);
