// The scan API's compare_similarity, built from the platform's score calibration. Its clients read it as
// KBY-AI's server does: "Same person" above 0.7. Here every 0.1 above 0.5 is a tenfold lower false-accept rate:
// the scale passes through 0.5 at the cosine whose FAR is 1e-1, 0.6 at 1e-2, 0.7 at 1e-3 (the verdict's cut),
// 0.8 at 1e-4 and 0.9 at 1e-5, from 0 at cosine -1 to 1 at cosine 1, linear in the cosine in between: strictly
// increasing, so a higher similarity always means a more alike pair, and the verdict is the same whether a
// client compares the similarity with 0.7 or the server the cosine with its threshold.
import type { ScoreCalibration } from '../../domain/calibration';

/** KBY-AI's cut: a similarity above this is "Same person". */
export const SAME_PERSON_SIMILARITY = 0.7;

/** The similarity at each false-accept rate (the anchors of the scale). */
export const FAR_ANCHORS: readonly { far: number; similarity: number }[] = [
  { far: 1e-1, similarity: 0.5 },
  { far: 1e-2, similarity: 0.6 },
  { far: 1e-3, similarity: SAME_PERSON_SIMILARITY },
  { far: 1e-4, similarity: 0.8 },
  { far: 1e-5, similarity: 0.9 },
];

export interface SimilarityScale {
  /** compare_similarity of a cosine, in [0, 1]. */
  similarity(cosine: number): number;
  /** The cosine of a similarity (the inverse). */
  cosine(similarity: number): number;
  /** The cosine above which a pair is "Same person" (similarity > 0.7). */
  readonly sameCosine: number;
  /** The scale's points: cosine -> similarity. */
  readonly points: readonly { cosine: number; similarity: number }[];
}

function piecewise(xs: readonly number[], ys: readonly number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]) return ys[i - 1] + ((x - xs[i - 1]) / (xs[i] - xs[i - 1])) * (ys[i] - ys[i - 1]);
  }
  return ys[ys.length - 1];
}

/** The scale for this calibration; throws when its thresholds are not strictly increasing (a broken table). */
export function similarityScale(calibration: ScoreCalibration): SimilarityScale {
  const points = [
    { cosine: -1, similarity: 0 },
    ...FAR_ANCHORS.map((a) => ({ cosine: calibration.cosineAtFar(a.far), similarity: a.similarity })),
    { cosine: 1, similarity: 1 },
  ];
  for (let i = 1; i < points.length; i++) {
    if (!(points[i].cosine > points[i - 1].cosine)) {
      throw new Error(`scan similarity scale: the calibration's thresholds are not increasing at ${JSON.stringify(points[i])}`);
    }
  }
  const cosines = points.map((p) => p.cosine);
  const similarities = points.map((p) => p.similarity);
  const sameCosine = calibration.cosineAtFar(1e-3);
  return {
    similarity: (c) => piecewise(cosines, similarities, Math.max(-1, Math.min(1, c))),
    cosine: (s) => piecewise(similarities, cosines, Math.max(0, Math.min(1, s))),
    sameCosine,
    points,
  };
}
