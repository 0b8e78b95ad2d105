// The typed face of the native 1:N matcher (native/core/matcher, native/binding/matcher_binding.cpp).
//
//   const index = new Matcher();                   // one per collection (MatcherSet keeps them by key)
//   index.add(id, embedding);                      // 512 floats; normalised inside; an existing id is replaced
//   index.reserve(total);                          // optional, before streaming a known count in batches
//   index.addBatch(ids, embeddings);               // ids: Float64Array | BigInt64Array, embeddings: n*512 floats
//   index.remove(id); index.has(id); index.clear(); index.size; index.memoryBytes(); index.bytesPerTemplate();
//   const hits = await index.search(query, { k: 5, threshold: 0.45 });   // FaceHit[] { faceId, cosine }, best first
//
// Face ids are non-negative safe integers (JS numbers, up to 2^53-1; BigInt is accepted on input). Results
// always carry numbers. Scores are cosines. Per template the index keeps a 512-byte int8 code with its own
// scale, a 64-byte sign code and 64 bytes of rounding residuals (not the float vector): about 680 bytes of
// RAM each.
//
// search() answers collections below `syncBelow` templates on the calling thread (a scan that short costs
// less than the hop to another thread) and bigger ones on the matcher's own thread, so the event loop stays
// free. Every failure is a MatcherError whose .code is one of MATCHER_ERROR_CODES.
import type { FaceHit, SearchOptions } from '../domain/types';
import { loadAddon } from './addon';

export const MATCHER_ERROR_CODES = ['INVALID_ARGUMENT', 'BUSY', 'INTERNAL'] as const;
export type MatcherErrorCode = (typeof MATCHER_ERROR_CODES)[number];

export class MatcherError extends Error {
  override name = 'MatcherError';
  constructor(
    readonly code: MatcherErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type FaceId = number | bigint;
export { EMBEDDING_DIM } from '../domain/types';

/**
 * twoStage: popcount over the sign codes keeps `candidates` templates (or `candidateRatio` of the collection,
 *   whichever is more), which are then rescored with int8 codes or with the float query ('rescore'). The
 *   pre-filter ranks by a Hamming distance in which each bit counts the query's |component| there, rounded
 *   to 0..3 ('weighted', default), or by the plain Hamming distance ('hamming').
 * exact: int8 dot against every template. exactFloat: the float query against every int8 code.
 * hamming: sign codes only, score = cos(pi * distance / 512).
 */
export type SearchMode = 'twoStage' | 'exact' | 'exactFloat' | 'hamming';
export type KernelPath = 'auto' | 'scalar' | 'avx2' | 'avx512';

/** How the native matcher searches (k and threshold are the shared SearchOptions). */
export interface MatcherTuning {
  mode?: SearchMode; // default 'twoStage'
  rescore?: 'int8' | 'float'; // twoStage only; default 'float' (float query x int8 codes, more exact, same cost)
  prefilter?: 'weighted' | 'hamming'; // twoStage pre-filter ranking; default 'weighted'
  candidates?: number; // twoStage pre-filter size; default 0 = auto: ~1% of the collection within 128..1024 (>= 16 k)
  candidateRatio?: number; // 0..1; default 0
  threads?: number; // scan threads for big collections; default 1 (capped at the cores)
  kernel?: KernelPath; // force an instruction set (tests, benchmarks); default 'auto'
}

/** k: 1..10000, default 1; threshold: minimum cosine, default -1 (no limit). */
export type MatcherSearchOptions = Partial<SearchOptions> & MatcherTuning;

/** What the binding returns per hit. */
interface NativeHit {
  id: number;
  score: number;
}

const toHits = (native: NativeHit[]): FaceHit[] => native.map((h) => ({ faceId: h.id, cosine: h.score, personId: null }));

/** Collections smaller than this are searched synchronously (see benchmarks/RESULTS.md, "Matcher"). */
export const DEFAULT_SYNC_BELOW = 50_000;

interface NativeMatcherIndex {
  add(id: FaceId, embedding: Float32Array): void;
  addBatch(ids: Float64Array | BigInt64Array, embeddings: Float32Array): void;
  reserve(count: number): void;
  remove(id: FaceId): boolean;
  has(id: FaceId): boolean;
  clear(): void;
  size(): number;
  memoryBytes(): number;
  bytesPerTemplate(): number;
  search(query: Float32Array, options?: MatcherSearchOptions): NativeHit[];
  searchAsync(query: Float32Array, options?: MatcherSearchOptions): Promise<NativeHit[]>;
}

function asMatcherError(err: unknown): MatcherError {
  if (err instanceof MatcherError) return err;
  const code = (err as { code?: string })?.code;
  const known = (MATCHER_ERROR_CODES as readonly string[]).includes(code ?? '');
  return new MatcherError(known ? (code as MatcherErrorCode) : 'INTERNAL', (err as Error)?.message ?? String(err));
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asMatcherError(err);
  }
}

export class Matcher {
  private readonly native: NativeMatcherIndex;

  constructor(readonly syncBelow = DEFAULT_SYNC_BELOW) {
    const addon = loadAddon();
    this.native = new addon.MatcherIndex() as NativeMatcherIndex;
  }

  add(id: FaceId, embedding: Float32Array): void {
    guarded(() => this.native.add(id, embedding));
  }

  /** Adds (or replaces) ids.length templates at once; validates every row before changing anything. */
  addBatch(ids: Float64Array | BigInt64Array, embeddings: Float32Array): void {
    guarded(() => this.native.addBatch(ids, embeddings));
  }

  /** Room for `count` templates in total: call before streaming a known number in batches (no regrowth). */
  reserve(count: number): void {
    guarded(() => this.native.reserve(count));
  }

  /** Returns whether the id was present. */
  remove(id: FaceId): boolean {
    return guarded(() => this.native.remove(id));
  }

  has(id: FaceId): boolean {
    return guarded(() => this.native.has(id));
  }

  clear(): void {
    this.native.clear();
  }

  get size(): number {
    return this.native.size();
  }

  memoryBytes(): number {
    return this.native.memoryBytes();
  }

  bytesPerTemplate(): number {
    return this.native.bytesPerTemplate();
  }

  /** Best first; small collections answer on this thread, big ones on the matcher's thread. */
  async search(query: Float32Array, options: MatcherSearchOptions = {}): Promise<FaceHit[]> {
    if (this.native.size() < this.syncBelow) return this.searchSync(query, options);
    return this.searchAsync(query, options);
  }

  /** Always on the matcher's own thread, whatever the size. */
  async searchAsync(query: Float32Array, options: MatcherSearchOptions = {}): Promise<FaceHit[]> {
    try {
      return toHits(await this.native.searchAsync(query, options));
    } catch (err) {
      throw asMatcherError(err);
    }
  }

  /** Blocks the calling thread for the whole scan: for small collections and tools. */
  searchSync(query: Float32Array, options: MatcherSearchOptions = {}): FaceHit[] {
    return toHits(guarded(() => this.native.search(query, options)));
  }
}

/** One Matcher per collection key. */
export class MatcherSet {
  private readonly indexes = new Map<string, Matcher>();

  constructor(private readonly syncBelow = DEFAULT_SYNC_BELOW) {}

  get(collection: string): Matcher {
    let index = this.indexes.get(collection);
    if (!index) {
      index = new Matcher(this.syncBelow);
      this.indexes.set(collection, index);
    }
    return index;
  }

  find(collection: string): Matcher | undefined {
    return this.indexes.get(collection);
  }

  delete(collection: string): boolean {
    this.indexes.get(collection)?.clear();
    return this.indexes.delete(collection);
  }

  collections(): string[] {
    return [...this.indexes.keys()];
  }

  memoryBytes(): number {
    let total = 0;
    for (const index of this.indexes.values()) total += index.memoryBytes();
    return total;
  }
}

export interface MatcherKernels {
  best: KernelPath;
  available: KernelPath[];
}

export function matcherKernels(): MatcherKernels {
  return loadAddon().matcherKernels() as MatcherKernels;
}

/** Single-core streaming read bandwidth in GB/s (1e9 bytes); blocks for bytes * repeats of reading. */
export function measureReadBandwidth(bytes = 1 << 30, repeats = 3): { gbPerSecond: number; bytes: number; repeats: number } {
  return guarded(() => loadAddon().measureReadBandwidth(bytes, repeats));
}
