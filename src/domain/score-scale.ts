// A product's score scale over the platform's one calibration: the product names the score it shows at a few
// false-accept rates (its anchors); the scale runs from 0 at cosine -1 through each anchor at the cosine where
// the shipped model has that rate, to 1 at cosine 1, linear in the cosine in between. Strictly increasing, so a
// client's own threshold on the score is a threshold on the cosine, and each anchor lands at its rate.
import type { ScoreCalibration } from './calibration';

export interface FarAnchor {
  far: number;
  score: number;
}

export interface ScoreScale {
  /** The score of a cosine, in [0, 1]. */
  score(cosine: number): number;
  /** The cosine of a score (the inverse). */
  cosine(score: number): number;
  /** The scale's points: cosine -> score, from (-1, 0) to (1, 1). */
  readonly points: readonly { cosine: number; score: number }[];
}

function piecewise(xs: readonly number[], ys: readonly number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]) return ys[i - 1] + ((x - xs[i - 1]) / (xs[i] - xs[i - 1])) * (ys[i] - ys[i - 1]);
  }
  return ys[ys.length - 1];
}

/** The scale of these anchors; throws, naming it, when the anchors or the calibration's thresholds do not increase. */
export function farAnchoredScale(name: string, calibration: ScoreCalibration, anchors: readonly FarAnchor[]): ScoreScale {
  const points = [{ cosine: -1, score: 0 }, ...anchors.map((a) => ({ cosine: calibration.cosineAtFar(a.far), score: a.score })), { cosine: 1, score: 1 }];
  for (let i = 1; i < points.length; i++) {
    if (!(points[i].cosine > points[i - 1].cosine) || !(points[i].score > points[i - 1].score)) {
      throw new Error(`${name}: the calibration's thresholds are not increasing at ${JSON.stringify(points[i])}`);
    }
  }
  const cosines = points.map((p) => p.cosine);
  const scores = points.map((p) => p.score);
  return {
    score: (c) => piecewise(cosines, scores, Math.max(-1, Math.min(1, c))),
    cosine: (s) => piecewise(scores, cosines, Math.max(0, Math.min(1, s))),
    points,
  };
}
