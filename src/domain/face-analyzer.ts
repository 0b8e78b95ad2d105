// The domain's view of the native engine: analyze one image into faces (box, landmarks, keypoints, embedding,
// template, attributes) with per-stage timings. EngineFaceAnalyzer adapts src/engine's Engine to it and turns
// engine error codes into domain errors.
import type { AnalyzeOptions as EngineAnalyzeOptions, AnalyzeResult } from '../engine/engine';
import { DomainError, type DomainErrorCode } from './errors';
import type { AnalyzeOptions, ImageAnalysis } from './types';

export interface FaceAnalyzer {
  analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis>;
}

/** The part of src/engine/engine.ts's Engine this adapter uses. */
export interface EngineLike {
  analyze(image: Buffer, options: EngineAnalyzeOptions): Promise<AnalyzeResult>;
}

const ENGINE_TO_DOMAIN: Record<string, DomainErrorCode> = {
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  CORRUPT_IMAGE: 'CORRUPT_IMAGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  BUSY: 'BUSY',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  TEMPLATE_MISMATCH: 'TEMPLATE_MISMATCH',
};

const EMPTY_EMBEDDING = new Float32Array(0);
const EMPTY_TEMPLATE = Buffer.alloc(0);

export class EngineFaceAnalyzer implements FaceAnalyzer {
  constructor(private readonly engine: EngineLike) {}

  async analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis> {
    let raw: AnalyzeResult;
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
    return {
      width: raw.width,
      height: raw.height,
      timings: raw.timings,
      faces: raw.faces.map((f) => ({
        box: f.box,
        score: f.score,
        landmarks5: f.landmarks5,
        keypoints: f.keypoints,
        landmarks68: f.landmarks68,
        embedding: f.embedding ?? EMPTY_EMBEDDING,
        template: f.template ?? EMPTY_TEMPLATE,
        attributes: f.attributes ?? {},
      })),
    };
  }
}
