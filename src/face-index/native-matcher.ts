// The production CollectionMatcher: the native SIMD matcher (src/engine/matcher.ts), two-stage search
// (sign-code pre-filter, int8 rescoring) by default.
import type { FaceHit, SearchOptions } from '../domain/types';
import { Matcher, type MatcherTuning } from '../engine/matcher';
import type { CollectionMatcher } from './collection-matcher';

export class NativeCollectionMatcher implements CollectionMatcher {
  private readonly index = new Matcher();

  constructor(private readonly tuning: MatcherTuning = {}) {}

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

  search(query: Float32Array, opts: SearchOptions): Promise<FaceHit[]> {
    return this.index.search(query, { ...this.tuning, k: opts.k, threshold: opts.threshold ?? -1 });
  }

  memoryBytes(): number {
    return this.index.memoryBytes();
  }

  dispose(): void {
    this.index.clear();
  }
}

/** A factory for FaceIndex: native matchers with the given tuning. */
export const nativeMatchers =
  (tuning: MatcherTuning = {}) =>
  (): CollectionMatcher =>
    new NativeCollectionMatcher(tuning);
