// The scan API's compare_similarity, built from the platform's score calibration. Its clients read it as
// KBY-AI's server does: "Same person" above 0.7. Here every 0.1 above 0.5 is a tenfold lower false-accept rate:
// the scale passes through 0.5 at the cosine whose FAR is 1e-1, 0.6 at 1e-2, 0.7 at 1e-3 (the verdict's cut),
// 0.8 at 1e-4 and 0.9 at 1e-5, from 0 at cosine -1 to 1 at cosine 1, linear in the cosine in between: strictly
// increasing, so a higher similarity always means a more alike pair, and the verdict is the same whether a
// client compares the similarity with 0.7 or the server the cosine with its threshold.
import type { ScoreCalibration } from '../../domain/calibration';
import { farAnchoredScale } from '../../domain/score-scale';

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

/** The scale for this calibration; throws when its thresholds are not strictly increasing (a broken table). */
export function similarityScale(calibration: ScoreCalibration): SimilarityScale {
  const scale = farAnchoredScale('scan similarity scale', calibration, FAR_ANCHORS.map((a) => ({ far: a.far, score: a.similarity })));
  return {
    similarity: scale.score,
    cosine: scale.cosine,
    sameCosine: calibration.cosineAtFar(1e-3),
    points: scale.points.map((p) => ({ cosine: p.cosine, similarity: p.score })),
  };
}
