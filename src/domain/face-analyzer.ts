// The domain's view of the native engine: analyze one image into faces (box, landmarks, keypoints, embedding,
// template, attributes) with per-stage timings, and find the upright people (bodies) in an image.
// EngineFaceAnalyzer adapts src/engine's Engine (and its body detector) to it and turns engine error codes into
// domain errors.
import sharp from 'sharp';
import { detectBodies } from '../engine/bodies';
import type { AnalyzeOptions as EngineAnalyzeOptions, AnalyzeResult } from '../engine/engine';
import { DomainError, type DomainErrorCode } from './errors';
import type { AnalyzeOptions, BodyAnalysis, DetectBodiesOptions, ImageAnalysis } from './types';

export interface FaceAnalyzer {
  analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis>;
  detectBodies(image: Buffer, options: DetectBodiesOptions): Promise<BodyAnalysis>;
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

const BODY_ENGINE_TO_DOMAIN: Record<string, DomainErrorCode> = {
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  CORRUPT_IMAGE: 'CORRUPT_IMAGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  BUSY: 'BUSY',
};

const EMPTY_EMBEDDING = new Float32Array(0);
const EMPTY_TEMPLATE = Buffer.alloc(0);

export class EngineFaceAnalyzer implements FaceAnalyzer {
  constructor(
    private readonly engine: EngineLike,
    /** > 0: every face comes with a crop this many pixels a side (the console's thumbnails); 0: none. */
    private readonly cropSize = 0,
  ) {}

  async analyze(image: Buffer, options: AnalyzeOptions): Promise<ImageAnalysis> {
    let raw: AnalyzeResult;
    try {
      raw = await this.engine.analyze(image, {
        detectFaces: options.detectFaces,
        ...(options.minScore !== undefined ? { minScore: options.minScore } : {}),
        maxFaces: options.maxFaces ?? 0,
        template: options.template,
        attributes: options.attributes,
        ...(this.cropSize > 0 ? { cropSize: this.cropSize } : {}),
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
        ...(f.crop ? { crop: f.crop } : {}),
      })),
    };
  }

  /** The body detector runs on its own native thread (src/engine/bodies.ts); the size is the oriented image's. */
  async detectBodies(image: Buffer, options: DetectBodiesOptions): Promise<BodyAnalysis> {
    try {
      const bodies = await detectBodies(image, options);
      const meta = await sharp(image).metadata();
      const swap = (meta.orientation ?? 1) >= 5;
      return { width: (swap ? meta.height : meta.width) ?? 1, height: (swap ? meta.width : meta.height) ?? 1, bodies };
    } catch (err) {
      const code = BODY_ENGINE_TO_DOMAIN[(err as { code?: string }).code ?? ''];
      if (code) throw new DomainError(code, (err as Error).message);
      if (err instanceof Error && /unsupported image format|Input buffer/i.test(err.message)) throw new DomainError('CORRUPT_IMAGE', err.message);
      throw err;
    }
  }
}
