// The one place where a distance between two face embeddings becomes the "similarity" users see.
// CompreFace reports (tanh((c0 - d) * c1) + 1) / 2 over the Euclidean distance d of L2-normalised
// embeddings, with c0 and c1 fitted per model. Ours are fitted for fr_feature (MobileFaceNet-like, 512-d)
// on ../shared/facedata's labelled pairs by tools/fit-similarity.ts: c0 is the distance at the equal-error
// point (so similarity 0.5 is where false accepts equal false rejects), c1 is the logistic slope that best
// fits the same/different labels (maximum likelihood). Re-run the tool after changing the model or the
// alignment and paste its printed constants here.

/**
 * Fitted by `node --import tsx tools/fit-similarity.ts` with the engine (flip-averaged embeddings) on the 904
 * usable pairs of ../shared/facedata/pairs.tsv (434 same, 470 different; errata pairs left out): equal-error
 * rate 1.44% at distance 1.2268. See benchmarks/RESULTS.md, "HTTP".
 */
export const SIMILARITY_COEFFICIENTS = { c0: 1.2268, c1: 12.0932 } as const;

/** Similarity in [0, 1] from the Euclidean distance of two unit vectors (0 = same point, 2 = opposite). */
export function similarityFromDistance(distance: number, k: { c0: number; c1: number } = SIMILARITY_COEFFICIENTS): number {
  return (Math.tanh((k.c0 - distance) * k.c1) + 1) / 2;
}

/** For unit vectors |a - b|^2 = 2 - 2 cos, so the matcher's cosine maps to the same scale. */
export function distanceFromCosine(cosine: number): number {
  return Math.sqrt(Math.max(0, 2 - 2 * cosine));
}

export function similarityFromCosine(cosine: number): number {
  return similarityFromDistance(distanceFromCosine(cosine));
}

/** Cosine of two embeddings, each normalised here so callers may pass raw vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`embedding lengths differ: ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}
