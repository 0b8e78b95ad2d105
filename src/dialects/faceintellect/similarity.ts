// Face Intellect's `Sim`, built from the platform's score calibration: every 0.1 above 0.3 is a tenfold lower
// false-accept rate. The scale passes through 0.3 at the cosine whose FAR is 1e-1, 0.4 at 1e-2, 0.5 at 1e-3 (the
// default "recognized" cut, FACEINTELLECT_MATCH_SIM), 0.6 at 1e-4 and 0.7 at 1e-5,
// from 0 at cosine -1 to 1 at cosine 1, linear in the cosine in between: strictly increasing, so a client's own
// threshold on Sim is a threshold on the cosine, and Sim 0.5 means one stranger in a thousand scores as high.
import type { ScoreCalibration } from '../../domain/calibration';

/** The default Sim of a recognition (FAR 1e-3). */
export const MATCH_SIM = 0.5;

export const FAR_ANCHORS: readonly { far: number; sim: number }[] = [
  { far: 1e-1, sim: 0.3 },
  { far: 1e-2, sim: 0.4 },
  { far: 1e-3, sim: MATCH_SIM },
  { far: 1e-4, sim: 0.6 },
  { far: 1e-5, sim: 0.7 },
];

export interface SimScale {
  /** Sim of a cosine, in [0, 1]. */
  sim(cosine: number): number;
  /** The cosine of a Sim (the inverse). */
  cosine(sim: number): number;
  /** The cosine at MATCH_SIM. */
  readonly matchCosine: number;
}

function piecewise(xs: readonly number[], ys: readonly number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]) return ys[i - 1] + ((x - xs[i - 1]) / (xs[i] - xs[i - 1])) * (ys[i] - ys[i - 1]);
  }
  return ys[ys.length - 1];
}

/** The scale for this calibration; throws when its thresholds are not strictly increasing (a broken table). */
export function simScale(calibration: ScoreCalibration): SimScale {
  const points = [{ cosine: -1, sim: 0 }, ...FAR_ANCHORS.map((a) => ({ cosine: calibration.cosineAtFar(a.far), sim: a.sim })), { cosine: 1, sim: 1 }];
  for (let i = 1; i < points.length; i++) {
    if (!(points[i].cosine > points[i - 1].cosine)) throw new Error(`Face Intellect Sim scale: thresholds not increasing at ${JSON.stringify(points[i])}`);
  }
  const cosines = points.map((p) => p.cosine);
  const sims = points.map((p) => p.sim);
  const cosine = (s: number) => piecewise(sims, cosines, Math.max(0, Math.min(1, s)));
  return {
    sim: (c) => piecewise(cosines, sims, Math.max(-1, Math.min(1, c))),
    cosine,
    matchCosine: cosine(MATCH_SIM),
  };
}
