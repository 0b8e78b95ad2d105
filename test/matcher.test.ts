// The 1:N matcher through its TypeScript face: edits, every search mode and kernel path against a brute-force
// float reference, async searches that leave the event loop free, and argument errors with codes.
import assert from 'node:assert/strict';

import { EMBEDDING_DIM, Matcher, MatcherSet, MatcherError, matcherKernels, type SearchMode, type MatcherSearchOptions } from '../src/engine/matcher';

// Seeded generator so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n);
  return v.map((x) => x * inv);
}

/** Face-like data: identity directions, templates = identity + noise (same-person cosine ~0.7). */
function clustered(n: number, seed: number): { gallery: Float32Array; centres: Float32Array[]; sample: (i: number) => Float32Array } {
  const next = rng(seed);
  const centres: Float32Array[] = [];
  const sample = (i: number) => {
    const v = new Float32Array(EMBEDDING_DIM);
    for (let d = 0; d < EMBEDDING_DIM; d++) v[d] = centres[i][d] + (0.65 * gaussian(next)) / Math.sqrt(EMBEDDING_DIM);
    return normalise(v);
  };
  const gallery = new Float32Array(n * EMBEDDING_DIM);
  for (let i = 0; i < n; i++) {
    const c = new Float32Array(EMBEDDING_DIM);
    for (let d = 0; d < EMBEDDING_DIM; d++) c[d] = gaussian(next);
    centres.push(normalise(c));
    gallery.set(sample(i), i * EMBEDDING_DIM);
  }
  return { gallery, centres, sample };
}

function bruteForce(gallery: Float32Array, query: Float32Array, k: number): number[] {
  const n = gallery.length / EMBEDDING_DIM;
  const scored: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let d = 0; d < EMBEDDING_DIM; d++) dot += gallery[i * EMBEDDING_DIM + d] * query[d];
    scored.push([dot, i]);
  }
  scored.sort((a, b) => b[0] - a[0]);
  return scored.slice(0, k).map(([, i]) => i);
}

function idsFrom(n: number, offset = 0): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => offset + i);
}

describe('matcher (Matcher)', function () {
  this.timeout(120_000);

  it('adds, replaces, removes and reports memory per template under 700 bytes', () => {
    const { gallery, sample } = clustered(2000, 1);
    const index = new Matcher();
    index.addBatch(idsFrom(2000, 1_000_000), gallery);
    assert.equal(index.size, 2000);
    assert.ok(index.bytesPerTemplate() >= 584 && index.bytesPerTemplate() <= 700, `${index.bytesPerTemplate()} B`);
    const probe = sample(42);
    assert.equal(index.searchSync(probe, { mode: 'exact' })[0].faceId, 1_000_042);
    // Replacing id 1_000_042 with another identity's template moves the probe's best hit elsewhere.
    index.add(1_000_042, gallery.subarray(7 * EMBEDDING_DIM, 8 * EMBEDDING_DIM));
    assert.equal(index.size, 2000);
    assert.notEqual(index.searchSync(probe, { mode: 'exact' })[0].faceId, 1_000_042);
    assert.equal(index.remove(1_000_042), true);
    assert.equal(index.remove(1_000_042), false);
    assert.equal(index.has(1_000_042), false);
    assert.equal(index.size, 1999);
    // BigInt ids work the same way.
    index.add(2n ** 40n, probe);
    assert.equal(index.searchSync(probe)[0].faceId, 2 ** 40);
    index.clear();
    assert.equal(index.size, 0);
    assert.deepEqual(index.searchSync(probe), []);
  });

  it('every mode on every kernel path agrees with scalar and with brute-force float search', () => {
    const n = 5000;
    const { gallery, sample } = clustered(n, 2);
    const index = new Matcher();
    index.addBatch(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), gallery);
    const kernels = matcherKernels();
    assert.ok(kernels.available.includes('scalar'));
    const configs: MatcherSearchOptions[] = [
      { mode: 'twoStage' },
      { mode: 'twoStage', prefilter: 'hamming' },
      { mode: 'twoStage', rescore: 'int8' },
      { mode: 'exact' },
      { mode: 'exactFloat' },
      { mode: 'hamming' },
    ];
    for (let p = 0; p < 30; p++) {
      const mate = (p * 97) % n;
      const probe = sample(mate);
      const reference = bruteForce(gallery, probe, 5);
      assert.equal(reference[0], mate);
      for (const config of configs) {
        const label = JSON.stringify(config);
        const scalar = index.searchSync(probe, { ...config, k: 5, kernel: 'scalar', candidates: 200 });
        assert.equal(scalar[0].faceId, reference[0], `${label}: top-1 differs from float search`);
        for (const kernel of kernels.available) {
          for (const threads of [1, 2]) {
            const got = index.searchSync(probe, { ...config, k: 5, kernel, threads, candidates: 200 });
            assert.deepEqual(
              got.map((m) => m.faceId),
              scalar.map((m) => m.faceId),
              `${label} on ${kernel}`,
            );
            got.forEach((m, i) => assert.ok(Math.abs(m.cosine - scalar[i].cosine) < 1e-5));
          }
        }
      }
    }
  });

  it('threshold keeps only matches at or above it', () => {
    const { gallery, sample } = clustered(1000, 3);
    const index = new Matcher();
    index.addBatch(idsFrom(1000), gallery);
    const hits = index.searchSync(sample(5), { k: 20, threshold: 0.5 });
    assert.ok(hits.length >= 1 && hits.length < 20);
    assert.equal(hits[0].faceId, 5);
    for (const h of hits) assert.ok(h.cosine >= 0.5);
  });

  it('searches big collections off the event loop, with the same answers as the synchronous call', async () => {
    const n = 200_000;
    const next = rng(4);
    const gallery = new Float32Array(n * EMBEDDING_DIM);
    for (let i = 0; i < gallery.length; i++) gallery[i] = next() - 0.5;
    const index = new Matcher(10_000);
    index.addBatch(idsFrom(n), gallery);
    const query = gallery.slice(123 * EMBEDDING_DIM, 124 * EMBEDDING_DIM);
    const options = { k: 10, mode: 'exact' as const };
    const expected = index.searchSync(query, options);
    assert.equal(expected[0].faceId, 123);
    // While 8 exact scans (tens of ms each) run natively, the event loop keeps ticking.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 8 }, () => index.search(query, options)));
    const elapsed = performance.now() - started;
    clearInterval(timer);
    for (const r of results) assert.deepEqual(r, expected);
    assert.ok(ticks >= Math.min(5, elapsed / 10), `event loop ticked ${ticks} times in ${elapsed.toFixed(0)} ms`);
  });

  it('rejects bad arguments with INVALID_ARGUMENT', async () => {
    const index = new Matcher();
    const good = new Float32Array(EMBEDDING_DIM).fill(0.1);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof MatcherError);
        return err.code;
      }
      return 'no error';
    };
    assert.equal(code(() => index.add(-1, good)), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.add(1.5, good)), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.add(2 ** 60, good)), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.add(1, new Float32Array(511))), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.add(1, new Float32Array(EMBEDDING_DIM))), 'INVALID_ARGUMENT'); // zero vector
    assert.equal(code(() => index.add(1, good.map((x, i) => (i === 9 ? NaN : x)))), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.addBatch(idsFrom(2), new Float32Array(EMBEDDING_DIM))), 'INVALID_ARGUMENT');
    index.add(1, good);
    assert.equal(code(() => index.searchSync(good, { k: 0 })), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.searchSync(good, { mode: 'fuzzy' as SearchMode })), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.searchSync(good, { candidateRatio: 3 })), 'INVALID_ARGUMENT');
    assert.equal(code(() => index.searchSync(good, { prefilter: 'bloom' as 'hamming' })), 'INVALID_ARGUMENT');
    const big = new Matcher(0); // always async
    big.add(1, good);
    await assert.rejects(big.search(good, { k: 0 }), (err: unknown) => err instanceof MatcherError && err.code === 'INVALID_ARGUMENT');
    assert.equal(index.size, 1);
  });

  it('keeps one index per collection', () => {
    const set = new MatcherSet();
    const v = new Float32Array(EMBEDDING_DIM).fill(0.2);
    set.get('a').add(1, v);
    set.get('b').add(1, v);
    set.get('b').add(2, v);
    assert.equal(set.get('a').size, 1);
    assert.equal(set.get('b').size, 2);
    assert.deepEqual(set.collections().sort(), ['a', 'b']);
    assert.ok(set.delete('a'));
    assert.equal(set.find('a'), undefined);
    assert.ok(set.memoryBytes() > 0);
  });
});
