// What the Image API's services add to a face object, in each version's shape, every value an engine
// measurement of AnalyzedFace (nothing recomputed here): the fitter's 21 keypoints (v1 a flat pixel list of
// x, y, 0 with the eye centres; v2 named, each with its normalised "proj") and the head angles; age, gender,
// emotions, liveness, medical mask; and the quality block (v1 camelCase under "qaa", v2 snake_case).
import type { AnalyzedFace, KeypointName } from '../../domain/types';
import { EMOTIONS, type Attributes } from '../../domain/attributes';
import { enumCase, type Json, type Version } from './sample';

/** 3DiVi's fitter with 21 keypoints, in its order (the v1 flat list follows it). */
export const FITTER_TYPE = 'fda';
export const KEYPOINT_ORDER: readonly KeypointName[] = [
  'left_eye_brow_left', 'left_eye_brow_up', 'left_eye_brow_right', 'right_eye_brow_left', 'right_eye_brow_up', 'right_eye_brow_right',
  'left_eye_left', 'left_eye', 'left_eye_right', 'right_eye_left', 'right_eye', 'right_eye_right',
  'left_ear_bottom', 'nose_left', 'nose', 'nose_right', 'right_ear_bottom', 'mouth_left', 'mouth', 'mouth_right', 'chin',
]; // prettier-ignore

const attributesOf = (face: AnalyzedFace) => face.attributes as Attributes;

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the engine returned no ${what} for a face`);
  return value;
}

export function pose(face: AnalyzedFace): { yaw: number; roll: number; pitch: number } {
  const p = need(attributesOf(face).pose, 'pose');
  return { yaw: p.yaw, roll: p.roll, pitch: p.pitch };
}

/** The face-detector-face-fitter's fields: v1 fitter + angles, v2 keypoints + pose. */
export function fitterFields(version: Version, face: AnalyzedFace, width: number, height: number): Record<string, Json> {
  const k = face.keypoints;
  if (version === 'v1') {
    return {
      fitter: {
        fitter_type: FITTER_TYPE,
        keypoints: KEYPOINT_ORDER.flatMap((name) => [k[name][0], k[name][1], 0]),
        left_eye: [k.left_eye[0], k.left_eye[1]],
        right_eye: [k.right_eye[0], k.right_eye[1]],
      },
      angles: pose(face),
    };
  }
  const keypoints: Record<string, Json> = {};
  for (const name of KEYPOINT_ORDER) keypoints[name] = { proj: [k[name][0] / width, k[name][1] / height] };
  keypoints.fitter_type = FITTER_TYPE;
  return { keypoints, pose: pose(face) };
}

/** The document shows age as a string of whole years. */
export const ageField = (face: AnalyzedFace) => ({ age: String(Math.round(need(attributesOf(face).age, 'age').years)) });

export const genderField = (version: Version, face: AnalyzedFace) => ({ gender: enumCase(version, need(attributesOf(face).gender, 'gender').value) });

export function emotionsField(version: Version, face: AnalyzedFace): Record<string, Json> {
  const e = need(attributesOf(face).emotion, 'emotion');
  return { emotions: EMOTIONS.map((name) => ({ confidence: e.probabilities[name], emotion: enumCase(version, name) })) };
}

/** value REAL or FAKE; confidence = the probability of that value. */
export function livenessField(version: Version, face: AnalyzedFace): Record<string, Json> {
  const l = need(attributesOf(face).liveness, 'liveness');
  return { liveness: { confidence: l.real ? l.score : 1 - l.score, value: enumCase(version, l.real ? 'real' : 'fake') } };
}

/** v1 "mask", v2 "has_medical_mask": value = masked, confidence = the probability of a mask. */
export function maskField(version: Version, face: AnalyzedFace): Record<string, Json> {
  const m = need(attributesOf(face).mask, 'mask');
  return { [version === 'v1' ? 'mask' : 'has_medical_mask']: { confidence: m.probability, value: m.masked } };
}

type Quality = NonNullable<Attributes['quality']>;

/**
 * The qaa fields that are scores: 0..1 in v2 (as the document's v2 example), 0..100 whole numbers in v1 (as
 * 3DiVi's demo client shows them: "<score>/100"). Degrees and pixels are whole numbers in both versions (as in
 * the document's examples); the dynamic range is in bits in both.
 */
export const QAA_SCORES = [
  'totalScore', 'sharpnessScore', 'illuminationScore', 'leftEyeOpennessScore', 'rightEyeOpennessScore', 'notMaskedScore',
  'neutralEmotionScore', 'noiseScore', 'watermarkScore', 'backgroundUniformityScore',
] as const; // prettier-ignore

/** Every field of the document's qaa block (v1 names; scores 0..1) from the engine's quality measures. */
export function qaa(q: Quality): Record<string, number | boolean> {
  return {
    totalScore: q.total.score,
    isSharp: q.sharpness.ok,
    sharpnessScore: q.sharpness.score,
    isEvenlyIlluminated: q.illumination.ok,
    illuminationScore: q.illumination.score,
    noFlare: q.flare.ok,
    isLeftEyeOpened: q.leftEyeOpenness.ok,
    leftEyeOpennessScore: q.leftEyeOpenness.score,
    isRightEyeOpened: q.rightEyeOpenness.ok,
    rightEyeOpennessScore: q.rightEyeOpenness.score,
    isRotationAcceptable: q.rotation.ok,
    maxRotationDeviation: Math.round(q.rotation.score),
    notMasked: q.notMasked.ok,
    notMaskedScore: q.notMasked.score,
    isNeutralEmotion: q.neutralEmotion.ok,
    neutralEmotionScore: q.neutralEmotion.score,
    isEyesDistanceAcceptable: q.eyesDistance.ok,
    eyesDistance: Math.round(q.eyesDistance.score),
    isMarginsAcceptable: q.margins.ok,
    marginOuterDeviation: Math.round(q.marginOuterDeviation),
    marginInnerDeviation: Math.round(q.marginInnerDeviation),
    isNotNoisy: q.noise.ok,
    noiseScore: q.noise.score,
    watermarkScore: q.watermark.score,
    hasWatermark: !q.watermark.ok,
    dynamicRangeScore: q.dynamicRange.score,
    isDynamicRangeAcceptable: q.dynamicRange.ok,
    backgroundUniformityScore: q.backgroundUniformity.score,
    isBackgroundUniform: q.backgroundUniformity.ok,
  };
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const SCORE_SET = new Set<string>(QAA_SCORES);

/** v1 quality: {qaa: {camelCase, scores 0..100}}; v2 quality: {snake_case, scores 0..1}. */
export function qualityField(version: Version, face: AnalyzedFace): Record<string, Json> {
  const block = qaa(need(attributesOf(face).quality, 'quality'));
  if (version === 'v1') {
    return { quality: { qaa: Object.fromEntries(Object.entries(block).map(([k, v]) => [k, SCORE_SET.has(k) ? Math.round((v as number) * 100) : v])) } };
  }
  return { quality: Object.fromEntries(Object.entries(block).map(([k, v]) => [snake(k), v])) };
}

/** The quality total on the 0..100 scale of the quality-liveness module's threshold. */
export const qualityScore = (face: AnalyzedFace) => Math.round(need(attributesOf(face).quality, 'quality').total.score * 100);
