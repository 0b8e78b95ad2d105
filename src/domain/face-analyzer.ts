// The domain's view of the native engine: analyze one image into faces (box, landmarks, embedding, template,
// attributes) with per-stage timings. EngineFaceAnalyzer adapts src/engine's Engine to it, normalising the
// result's shapes and turning engine error codes into domain errors.
import { DomainError, type DomainErrorCode } from './errors';
import type { AnalyzeOptions, AnalyzedFace, FaceAttributes, ImageAnalysis, Point } from './types';

export interface FaceAnalyzer {
  analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis>;
}

/** The part of src/engine/engine.ts's Engine this adapter uses. */
export interface EngineLike {
  analyze(image: Buffer, options: Record<string, unknown>): Promise<RawAnalysis>;
}

interface RawFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  landmarks68?: unknown;
  embedding?: Float32Array;
  template?: Buffer | Uint8Array;
  attributes?: FaceAttributes;
}

interface RawAnalysis {
  width: number;
  height: number;
  faces: RawFace[];
  timings?: unknown;
}

const ENGINE_TO_DOMAIN: Record<string, DomainErrorCode> = {
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  CORRUPT_IMAGE: 'CORRUPT_IMAGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  BUSY: 'BUSY',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
};

/** Landmarks as [x, y] pairs, whatever flat or object form the engine returns. */
export function toPoints(raw: unknown): Point[] {
  if (!raw) return [];
  if (ArrayBuffer.isView(raw) || (Array.isArray(raw) && typeof raw[0] === 'number')) {
    const flat = raw as ArrayLike<number>;
    const out: Point[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
    return out;
  }
  if (Array.isArray(raw)) {
    return raw.map((p) => (Array.isArray(p) ? [Number(p[0]), Number(p[1])] : [Number(p.x), Number(p.y)]));
  }
  return [];
}

/** Stage timings as {stage: ms}, summing repeated stages (one per face). */
export function toTimings(raw: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (stage: string, ms: number) => {
    out[stage] = (out[stage] ?? 0) + ms;
  };
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      if (Array.isArray(entry)) add(String(entry[0]), Number(entry[1]));
      else if (entry && typeof entry === 'object') add(String(entry.stage ?? entry.name), Number(entry.ms ?? entry.millis));
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) add(k, Number(v));
  }
  return out;
}

export class EngineFaceAnalyzer implements FaceAnalyzer {
  constructor(private readonly engine: EngineLike) {}

  async analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis> {
    let raw: RawAnalysis;
    try {
      raw = await this.engine.analyze(image, {
        detectFaces: options.detectFaces,
        ...(options.minScore !== undefined ? { minScore: options.minScore } : {}),
        maxFaces: options.maxFaces ?? 0,
        template: options.template,
        attributes: options.attributes,
      });
    } catch (err) {
      const code = ENGINE_TO_DOMAIN[(err as { code?: string }).code ?? ''];
      if (code) throw new DomainError(code, (err as Error).message);
      throw err;
    }
    const faces: AnalyzedFace[] = raw.faces.map((f) => ({
      box: { x: f.box.x, y: f.box.y, width: f.box.width, height: f.box.height },
      score: f.score,
      landmarks68: toPoints(f.landmarks68),
      embedding: f.embedding ?? new Float32Array(0),
      template: f.template ? Buffer.from(f.template.buffer, f.template.byteOffset, f.template.byteLength) : Buffer.alloc(0),
      attributes: f.attributes ?? {},
    }));
    return { width: raw.width, height: raw.height, faces, timings: toTimings(raw.timings) };
  }
}
