// The exact shapes of the face attributes the engine returns (AnalyzedFace.attributes; src/engine's
// FaceResult.attributes), as built by native/binding/attributes_js.cpp: pure types and the emotion vocabulary,
// for dialects that read the attributes field by field (src/engine/attributes.ts re-exports them).
// Only the requested attributes are present; quality also runs eyes, pose, emotion and mask internally but
// reports only what was asked for. "left"/"right" eyes are as seen in the image (left = smaller x).

/** The emotions the engine's classifier distinguishes, in its output order. */
export const EMOTIONS = ['angry', 'disgusted', 'scared', 'happy', 'neutral', 'sad', 'surprised'] as const;
export type Emotion = (typeof EMOTIONS)[number];

export interface QualityMeasure {
  score: number;
  ok: boolean; // passes its documented threshold (native/core/attributes/quality.h); "good" direction
}

export interface Attributes {
  /** years; [low, high] sized from the measured error; probability = measured share of true ages inside it. */
  age?: { years: number; low: number; high: number; probability: number };
  /** probability = confidence in value, 0.5..1; maleScore = flip-averaged SSR-Net output (male when > 0.65). */
  gender?: { value: 'male' | 'female'; probability: number; maleScore: number };
  emotion?: { top: Emotion; probabilities: Record<Emotion, number> };
  /** score = probability of a live face; real = score >= 0.5. */
  liveness?: { score: number; real: boolean };
  /** closed = probability the eye is closed. */
  eyes?: { left: { closed: number; open: boolean }; right: { closed: number; open: boolean } };
  /** opening = inner-lip gap / mouth width (landmarks); open when > 0.15. */
  mouth?: { opening: number; open: boolean };
  /** degrees; yaw > 0 = turned to image-right, pitch < 0 = looking down. */
  pose?: { yaw: number; pitch: number; roll: number };
  /** our own classifier (assets/mask/README.md gives its measured accuracy). */
  mask?: { probability: number; masked: boolean };
  /** every image and face-region quality measure (rotation.score = the largest angle, signed; eyesDistance.score = px). */
  quality?: {
    total: QualityMeasure;
    sharpness: QualityMeasure;
    illumination: QualityMeasure;
    flare: QualityMeasure; // score = share of over-exposed face pixels; ok = no flare
    leftEyeOpenness: QualityMeasure;
    rightEyeOpenness: QualityMeasure;
    rotation: QualityMeasure;
    notMasked: QualityMeasure;
    neutralEmotion: QualityMeasure;
    eyesDistance: QualityMeasure;
    margins: QualityMeasure;
    noise: QualityMeasure;
    watermark: QualityMeasure; // ok = no watermark
    backgroundUniformity: QualityMeasure;
    dynamicRange: QualityMeasure; // score in bits (0..8)
    marginInnerDeviation: number; // px
    marginOuterDeviation: number; // px
    faceLuminance: number; // 0..255
    interEyeDistance: number; // px
  };
}
