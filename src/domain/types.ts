// Product-neutral types shared by the domain services and every dialect.

/** The API services a key may be issued for (CompreFace's three; other dialects may add theirs). */
export type ServiceKind = 'recognition' | 'detection' | 'verification';
export const SERVICE_KINDS: readonly ServiceKind[] = ['recognition', 'detection', 'verification'];

/** Face attributes the engine can estimate on request. */
export type AttributeName = 'age' | 'gender' | 'emotion' | 'liveness' | 'eyes' | 'mouth' | 'pose' | 'quality' | 'mask';
export const ATTRIBUTE_NAMES: readonly AttributeName[] = ['age', 'gender', 'emotion', 'liveness', 'eyes', 'mouth', 'pose', 'quality', 'mask'];

export type Point = [number, number];

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

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
  quality?: Record<string, unknown>;
}

export interface AnalyzedFace {
  box: Box;
  /** Detector confidence in [0, 1] (1 when detection was skipped). */
  score: number;
  /** iBUG-68 landmarks in image pixels. */
  landmarks68: Point[];
  /** L2-normalised embedding (empty when no template was asked for). */
  embedding: Float32Array;
  /** The engine's versioned binary template (empty when none was asked for). */
  template: Buffer;
  attributes: FaceAttributes;
}

export interface ImageAnalysis {
  width: number;
  height: number;
  /** Biggest first. */
  faces: AnalyzedFace[];
  /** Milliseconds per stage for the whole image ("decode", "detect", "landmarks", "template", "age", ...). */
  timings: Record<string, number>;
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

/** One subject (person) that matched a probe, on CompreFace's similarity scale. */
export interface SubjectMatch {
  personId: number;
  subject: string;
  faceId: number;
  similarity: number;
}
