// A face as the scan API shows it (the KBY-AI face recognition server's fields), each value an engine
// measurement: the box, the head pose, the eye distance and face luminance of the quality block (eye centres of
// the 68 landmarks; mean luminance of the face region), the mask classifier's probability as the occlusion,
// the quality block's total, the eye model's closed probabilities, the mouth opening from the landmarks, and
// the 68 landmarks themselves. A face the quality block cannot measure (one filling the whole photo) keeps
// every other field, its eye distance from the landmarks, and null luminance and quality.
import type { AttributeName, AnalyzedFace } from '../../domain/types';
import type { Attributes } from '../../engine/attributes';

/** What a scan asks the engine for (quality brings the luminance and eye distance). */
export const SCAN_ATTRIBUTES: AttributeName[] = ['pose', 'eyes', 'mouth', 'mask', 'quality'];
/**
 * The same without quality: the engine's quality measures refuse a face that fills the photo (their background
 * ring would be larger than the image: INVALID_ARGUMENT), so such a photo is measured without them.
 */
export const SCAN_ATTRIBUTES_WITHOUT_QUALITY: AttributeName[] = SCAN_ATTRIBUTES.filter((a) => a !== 'quality');

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
  /** Mean luminance of the face region, 0..255; null when the quality measures could not run. */
  face_luminance: number | null;
  /** Probability that the face is covered (a mask), 0..1. */
  face_occlusion: number;
  /** The quality block's total score, 0..1; null when the quality measures could not run. */
  face_quality: number | null;
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

/** Pixels between the eye centres of the 68 landmarks (iBUG 36-41 and 42-47), as the quality block measures it. */
export function eyeDistance(landmarks: readonly (readonly [number, number])[]): number {
  const centre = (from: number) => {
    let x = 0;
    let y = 0;
    for (let i = from; i < from + 6; i++) [x, y] = [x + landmarks[i][0], y + landmarks[i][1]];
    return [x / 6, y / 6];
  };
  const [a, b] = [centre(36), centre(42)];
  return Math.hypot(b[0] - a[0], b[1] - a[1]);
}

/** The face's fields; `quality` absent from its attributes when the photo was measured without it. */
export function scanFace(face: AnalyzedFace): ScanFace {
  const a = face.attributes as Attributes;
  const pose = a.pose ?? measured(face, 'pose');
  const eyes = a.eyes ?? measured(face, 'eyes');
  const mouth = a.mouth ?? measured(face, 'mouth');
  const mask = a.mask ?? measured(face, 'mask');
  const quality = a.quality;
  const { x, y, width, height } = face.box;
  return {
    x1: Math.round(x),
    y1: Math.round(y),
    x2: Math.round(x + width),
    y2: Math.round(y + height),
    yaw: pose.yaw,
    pitch: pose.pitch,
    roll: pose.roll,
    eye_dist: quality?.interEyeDistance ?? eyeDistance(face.landmarks68),
    face_luminance: quality?.faceLuminance ?? null,
    face_occlusion: mask.probability,
    face_quality: quality?.total.score ?? null,
    left_eye_closed: eyes.left.closed,
    right_eye_closed: eyes.right.closed,
    mouth_opened: clamp01(mouth.opening),
    landmark_68: face.landmarks68.map(([px, py]) => ({ x: px, y: py })),
  };
}
