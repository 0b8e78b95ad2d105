// CompreFace's similarity scale: (tanh((c0 - d) * c1) + 1) / 2 over the Euclidean distance d of unit embeddings,
// with c0 and c1 fitted per model. Ours come from the platform's calibration (its logistic fit, made by
// tools/calibrate.ts): c0 is the distance at the equal-error point, so 0.5 is where false accepts equal false
// rejects, which CompreFace's clients take as "the same person".
export interface LogisticFit {
  c0: number;
  c1: number;
}

/** CompreFace treats a similarity at or above this as a match. */
export const MATCH_SIMILARITY = 0.5;

/** For unit vectors |a - b|^2 = 2 - 2 cos. */
export function distanceFromCosine(cosine: number): number {
  return Math.sqrt(Math.max(0, 2 - 2 * cosine));
}

/** Similarity in [0, 1] from the Euclidean distance of two unit vectors (0 = same point, 2 = opposite). */
export function similarityFromDistance(distance: number, k: LogisticFit): number {
  return (Math.tanh((k.c0 - distance) * k.c1) + 1) / 2;
}

export function similarityFromCosine(cosine: number, k: LogisticFit): number {
  return similarityFromDistance(distanceFromCosine(cosine), k);
}

/** The cosine whose similarity is `similarity` (the inverse, for thresholds given on this scale). */
export function cosineFromSimilarity(similarity: number, k: LogisticFit): number {
  const s = Math.min(Math.max(similarity, 1e-12), 1 - 1e-12);
  const d = Math.max(0, k.c0 - Math.atanh(2 * s - 1) / k.c1);
  return 1 - (d * d) / 2;
}
