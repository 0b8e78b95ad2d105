// FindFace's confidence, built from the platform's score calibration. NtechLab documents its presets by their
// false-accept rates: strict 0.7834 at FAR 1e-5, medium 0.6616 at 1e-3, low 0.5690 at 1e-1. The scale passes
// through exactly those points at the cosines where the shipped model has those rates on our pairs, runs from 0
// at cosine -1 to 1 at cosine 1, and is linear in the cosine in between: strictly increasing, so a client's own
// number threshold means the same on both sides, and each preset lands at its documented rate.
import type { ScoreCalibration } from '../../domain/calibration';
import { farAnchoredScale } from '../../domain/score-scale';

/** FindFace's named thresholds (its docs' Confidence Thresholds). */
export const PRESETS = { strict: 0.7834, medium: 0.6616, low: 0.569, none: 0 } as const;
export type Preset = keyof typeof PRESETS;

/** When a request names no threshold. */
export const DEFAULT_THRESHOLD = 0.75;

/** The false-accept rate each preset stands for. */
export const PRESET_FAR: Record<Exclude<Preset, 'none'>, number> = { low: 1e-1, medium: 1e-3, strict: 1e-5 };

export interface ConfidenceScale {
  /** FindFace confidence of a cosine, in [0, 1]. */
  confidence(cosine: number): number;
  /** The cosine of a confidence (the inverse). */
  cosine(confidence: number): number;
  readonly points: readonly { cosine: number; confidence: number }[];
}

/** The scale of this calibration; throws when its preset cosines are not increasing (a broken table). */
export function confidenceScale(calibration: ScoreCalibration): ConfidenceScale {
  const anchors = (['low', 'medium', 'strict'] as const).map((p) => ({ far: PRESET_FAR[p], score: PRESETS[p] }));
  const scale = farAnchoredScale('FindFace confidence scale', calibration, anchors);
  return { confidence: scale.score, cosine: scale.cosine, points: scale.points.map((p) => ({ cosine: p.cosine, confidence: p.score })) };
}
