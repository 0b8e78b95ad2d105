// What the console tells an operator about each enrolment photo: enrolled, no face, several faces, low quality
// (or why the image could not be read). The quality rule refuses photos that make poor references: a face
// too small to hold detail, a blurred one, or one turned far away. Its limits were set on ../shared/facedata:
// all 212 LFW gallery photos pass (faces 110-130 px, turned up to 47°; one is refused as showing two faces,
// which is the domain's rule), so do the 11 web gallery photos; 30 FER2013 48 px crops are all too small; an
// LFW photo blurred with sigma 3 is refused as blurred.
import { DomainError, isDomainError } from '../domain/errors';
import type { AnalyzedFace } from '../domain/types';
import { ConsoleError } from './errors';

/** A face box smaller than this (pixels a side), or eyes closer than MIN_EYE_DISTANCE, is too small. */
export const MIN_FACE_SIDE = 56;
export const MIN_EYE_DISTANCE = 20;
/** Below this sharpness score (v / (v + 500), v the Laplacian variance of the face at 128 px) a face is blurred. */
export const MIN_SHARPNESS = 0.2;
/** Beyond this yaw, pitch or roll (degrees) a face is turned too far. */
export const MAX_ROTATION = 55;

/** The attributes the console asks for when it enrols (quality and pose for the rule; age and gender to show). */
export const ENROL_ATTRIBUTES = ['quality', 'pose', 'age', 'gender'] as const;

export function lowQualityReasons(face: AnalyzedFace): string[] {
  const reasons: string[] = [];
  const [l, r] = face.landmarks5;
  const eyes = l && r ? Math.hypot(r[0] - l[0], r[1] - l[1]) : Infinity;
  const side = Math.min(face.box.width, face.box.height);
  if (side < MIN_FACE_SIDE) reasons.push(`the face is too small (${Math.round(side)} px, at least ${MIN_FACE_SIDE} needed)`);
  else if (eyes < MIN_EYE_DISTANCE) reasons.push(`the face is too small (eyes ${Math.round(eyes)} px apart, at least ${MIN_EYE_DISTANCE} needed)`);
  const q = face.attributes.quality as Record<string, { score?: number }> | undefined;
  const sharpness = q?.sharpness?.score;
  if (sharpness !== undefined && sharpness < MIN_SHARPNESS) reasons.push(`the face is blurred (sharpness ${sharpness.toFixed(2)}, at least ${MIN_SHARPNESS} needed)`);
  const pose = face.attributes.pose;
  const rotation = pose ? Math.max(Math.abs(pose.yaw), Math.abs(pose.pitch), Math.abs(pose.roll)) : Math.abs(q?.rotation?.score ?? 0);
  if (rotation > MAX_ROTATION) reasons.push(`the face is turned ${Math.round(rotation)}° away (at most ${MAX_ROTATION}°)`);
  return reasons;
}

/** EnrolOptions.check: LOW_QUALITY before anything is written. */
export function refuseLowQuality(faces: AnalyzedFace[]): void {
  for (const face of faces) {
    const reasons = lowQualityReasons(face);
    if (reasons.length) throw new ConsoleError('LOW_QUALITY', `low quality: ${reasons.join('; ')}`, { reasons });
  }
}

export type EnrolOutcome = 'enrolled' | 'no_face' | 'several_faces' | 'low_quality' | 'unreadable' | 'failed';

/** The outcome an enrolment failure means to an operator, or undefined for failures that are the server's. */
export function enrolOutcomeOf(err: unknown): EnrolOutcome | undefined {
  if (err instanceof ConsoleError && err.code === 'LOW_QUALITY') return 'low_quality';
  if (!isDomainError(err)) return undefined;
  const e: DomainError = err;
  switch (e.code) {
    case 'NO_FACE':
      return 'no_face';
    case 'TOO_MANY_FACES':
      return 'several_faces';
    case 'UNSUPPORTED_FORMAT':
    case 'CORRUPT_IMAGE':
    case 'IMAGE_TOO_LARGE':
    case 'MISSING_IMAGE':
      return 'unreadable';
    default:
      return 'failed';
  }
}
