// Product-neutral types shared by the engine adapter, the store, the face index, the domain services and every
// dialect. Vocabulary: a collection is a named set of enrolled faces; a person owns faces; a probe is a face
// searched for; a match is an enrolled face found for a probe, with its score.

/** Values in one face embedding (the shipped model's output width). */
export const EMBEDDING_DIM = 512;

export type Point = [number, number];

/** A face box in image pixels: top-left corner and size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Face attributes the engine can estimate on request. */
export type AttributeName = 'age' | 'gender' | 'emotion' | 'liveness' | 'eyes' | 'mouth' | 'pose' | 'quality' | 'mask';
export const ATTRIBUTE_NAMES: readonly AttributeName[] = ['age', 'gender', 'emotion', 'liveness', 'eyes', 'mouth', 'pose', 'quality', 'mask'];

/** The 21 named keypoints the engine derives from the 68 landmarks ("left" = smaller x in the image). */
export type KeypointName =
  | 'left_eye_brow_left' | 'left_eye_brow_up' | 'left_eye_brow_right'
  | 'right_eye_brow_left' | 'right_eye_brow_up' | 'right_eye_brow_right'
  | 'left_eye_left' | 'left_eye' | 'left_eye_right' | 'right_eye_left' | 'right_eye' | 'right_eye_right'
  | 'left_ear_bottom' | 'right_ear_bottom' | 'nose_left' | 'nose' | 'nose_right'
  | 'mouth_left' | 'mouth' | 'mouth_right' | 'chin'; // prettier-ignore

/** The engine's image and face-region measures (native/core/attributes/quality.h); all present when asked for. */
export type QualityMeasures = Record<string, number>;

/** The engine's attribute results; only the attributes asked for are present. */
export interface FaceAttributes {
  age?: { years: number; low: number; high: number; probability?: number };
  gender?: { value: 'male' | 'female'; probability: number; maleScore?: number };
  emotion?: { top: string; probabilities: Record<string, number> };
  liveness?: { score: number; real: boolean };
  eyes?: { left: { closed: number; open: boolean }; right: { closed: number; open: boolean } };
  mouth?: { opening: number; open: boolean };
  pose?: { yaw: number; pitch: number; roll: number };
  mask?: { probability: number; masked: boolean };
  quality?: QualityMeasures;
}

/** Everything the engine computed for one face, so no dialect recomputes any of it. */
export interface AnalyzedFace {
  box: Box;
  /** Detector confidence in [0, 1] (1 when detection was skipped). */
  score: number;
  /** Eye centres (image-left first), nose tip, mouth corners: the alignment points, in image pixels. */
  landmarks5: Point[];
  /** The 21 named keypoints, in image pixels. */
  keypoints: Record<KeypointName, Point>;
  /** iBUG-68 landmarks in image pixels. */
  landmarks68: Point[];
  /** L2-normalised embedding (empty when no template was asked for). */
  embedding: Float32Array;
  /** The engine's versioned binary template (empty when none was asked for). */
  template: Buffer;
  attributes: FaceAttributes;
  /** A small square JPEG of the face, cut by the engine from the decoded image (when the analyzer makes crops). */
  crop?: Buffer;
}

export interface ImageAnalysis {
  width: number;
  height: number;
  /** Biggest first. */
  faces: AnalyzedFace[];
  /** Milliseconds per stage for the whole image ("decode", "detect", "landmarks", "template", "age", ...). */
  timings: Record<string, number>;
}

/** An upright person the body detector found. */
export interface DetectedBody {
  /** Pixels of the oriented image. */
  box: Box;
  /** Detector confidence in [0, 1] (0.5 = on the decision boundary). */
  score: number;
}

export interface BodyAnalysis {
  /** The oriented image's size. */
  width: number;
  height: number;
  bodies: DetectedBody[];
}

export interface DetectBodiesOptions {
  /** Default 0.5. */
  minScore?: number;
  /** The decode limit: default 10 MP, at most 50 MP. */
  maxPixels?: number;
}

export interface AnalyzeOptions {
  /** false: the whole image is one face crop (no detector). */
  detectFaces: boolean;
  /** Detector score threshold; the engine's default when absent. */
  minScore?: number;
  /** 0 or absent: every face. */
  maxFaces?: number;
  /** Compute embeddings and templates. */
  template: boolean;
  attributes: AttributeName[];
}

/** One search hit: an enrolled face, its cosine to the probe, and its person (null: none, or not known here). */
export interface FaceHit {
  faceId: number;
  cosine: number;
  personId: number | null;
}

/** How many hits a search returns, and the lowest cosine it keeps. */
export interface SearchOptions {
  k: number;
  /** Only hits with cosine >= threshold. */
  threshold?: number;
}

/** A probe's match with its calibrated false-accept rate: each dialect turns cosine and far into its own scale. */
export interface Match extends FaceHit {
  /** The person's name (null when the face has no person). */
  personName: string | null;
  /** Share of different-person pairs that score at least this cosine (src/domain/calibration.ts). */
  far: number;
}
