// Face Intellect's `Sim`, built from the platform's score calibration: every 0.1 above 0.3 is a tenfold lower
// false-accept rate. The scale passes through 0.3 at the cosine whose FAR is 1e-1, 0.4 at 1e-2, 0.5 at 1e-3 (the
// default "recognized" cut, FACEINTELLECT_MATCH_SIM), 0.6 at 1e-4 and 0.7 at 1e-5,
// from 0 at cosine -1 to 1 at cosine 1, linear in the cosine in between: strictly increasing, so a client's own
// threshold on Sim is a threshold on the cosine, and Sim 0.5 means one stranger in a thousand scores as high.
import type { ScoreCalibration } from '../../domain/calibration';
import { farAnchoredScale } from '../../domain/score-scale';

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

/** The scale for this calibration; throws when its thresholds are not strictly increasing (a broken table). */
export function simScale(calibration: ScoreCalibration): SimScale {
  const scale = farAnchoredScale('Face Intellect Sim scale', calibration, FAR_ANCHORS.map((a) => ({ far: a.far, score: a.sim })));
  return { sim: scale.score, cosine: scale.cosine, matchCosine: scale.cosine(MATCH_SIM) };
}
