// A face as the scan API shows it (the KBY-AI face recognition server's fields), each value an engine
// measurement: the box, the head pose, the eye distance and face luminance of the quality block (eye centres of
// the 68 landmarks; mean luminance of the face region), the mask classifier's probability as the occlusion,
// the quality block's total, the eye model's closed probabilities, the mouth opening from the landmarks, and
// the 68 landmarks themselves.
import type { AttributeName, AnalyzedFace } from '../../domain/types';
import type { Attributes } from '../../domain/attributes';

/** What a scan asks the engine for (quality brings the luminance and eye distance). */
export const SCAN_ATTRIBUTES: AttributeName[] = ['pose', 'eyes', 'mouth', 'mask', 'quality'];

export interface ScanFace {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Degrees; > 0: turned towards the image's right. */
  yaw: number;
  /** Degrees; < 0: looking down. */
  pitch: number;
  /** Degrees. */
  roll: number;
  /** Pixels between the eye centres. */
  eye_dist: number;
  /** Mean luminance of the face region, 0..255. */
  face_luminance: number;
  /** Probability that the face is covered (a mask), 0..1. */
  face_occlusion: number;
  /** The quality block's total score, 0..1. */
  face_quality: number;
  /** Probability that the eye on the image's left is closed, 0..1. */
  left_eye_closed: number;
  right_eye_closed: number;
  /** Inner-lip gap / mouth width, 0..1 (open above 0.15). */
  mouth_opened: number;
  landmark_68: { x: number; y: number }[];
}

const clamp01 = (v: number) => Math.max(0, Math.min(1, v));

function measured(face: AnalyzedFace, what: string): never {
  throw new Error(`the engine returned no ${what} for a face (box ${JSON.stringify(face.box)})`);
}

/** The face's fields. */
export function scanFace(face: AnalyzedFace): ScanFace {
  const a = face.attributes as Attributes;
  const pose = a.pose ?? measured(face, 'pose');
  const eyes = a.eyes ?? measured(face, 'eyes');
  const mouth = a.mouth ?? measured(face, 'mouth');
  const mask = a.mask ?? measured(face, 'mask');
  const quality = a.quality ?? measured(face, 'quality');
  const { x, y, width, height } = face.box;
  return {
    x1: Math.round(x),
    y1: Math.round(y),
    x2: Math.round(x + width),
    y2: Math.round(y + height),
    yaw: pose.yaw,
    pitch: pose.pitch,
    roll: pose.roll,
    eye_dist: quality.interEyeDistance,
    face_luminance: quality.faceLuminance,
    face_occlusion: mask.probability,
    face_quality: quality.total.score,
    left_eye_closed: eyes.left.closed,
    right_eye_closed: eyes.right.closed,
    mouth_opened: clamp01(mouth.opening),
    landmark_68: face.landmarks68.map(([px, py]) => ({ x: px, y: py })),
  };
}
