// The typed face of the native engine (native/binding/engine_binding.cpp). Every call runs on the addon's own
// worker threads (one set of networks per worker) and returns a Promise; nothing blocks the event loop and
// nothing uses libuv's thread pool.
//
//   const engine = await Engine.open({ modelsDir, workers, queueSize, backend: 'cpu' | 'cuda',
//                                      limits: { maxBytes, maxWidth, maxHeight, maxPixels } });
//   engine.info();                  // addon info + models {name, file, bytes} + backend used + workers
//   const r = await engine.analyze(image, { detectFaces, minScore, maxFaces, minFaceSize, template, attributes });
//   // r = { width, height, faces: FaceResult[], timings: { decode, detect, landmarks, template, age, ... } }
//   Engine.templateFromEmbedding(f32) -> Buffer;  Engine.embeddingFromTemplate(buf) -> Float32Array
//   Engine.int8Code(f32) -> Int8Array;  Engine.signCode(f32) -> Buffer (64 bytes, bit i = component i > 0)
//   await engine.close();
//
// Every failure is an EngineError whose .code is one of ENGINE_ERROR_CODES.
import path from 'node:path';
import type { AttributeName, Box, FaceAttributes, KeypointName, Point } from '../domain/types';
import type { Config } from '../config';
import { loadAddon } from './addon';

export { ATTRIBUTE_NAMES, type AttributeName, type Box, type KeypointName } from '../domain/types';

const DEFAULT_MASK_WEIGHTS = path.resolve(import.meta.dirname, '../../assets/mask/mask_classifier.yml');

export const ENGINE_ERROR_CODES = [
  'INVALID_ARGUMENT', // an option or argument outside its documented range, or the engine is closed
  'UNSUPPORTED_FORMAT', // not JPEG, PNG, BMP, GIF, TIFF, WebP or ICO
  'CORRUPT_IMAGE', // a known format but broken, truncated or empty
  'IMAGE_TOO_LARGE', // over limits.maxBytes / maxWidth / maxHeight / maxPixels (checked on the header)
  'MODEL_LOAD', // a model file is missing or corrupt (the message names it)
  'TEMPLATE_MISMATCH', // a template of another model, pipeline version or layout
  'BUSY', // the work queue is full: retry later
  'INTERNAL',
] as const;
export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type Backend = 'cpu' | 'cuda';

export interface ImageLimits {
  maxBytes?: number; // default 20 MiB
  maxWidth?: number; // default 10000
  maxHeight?: number; // default 10000
  maxPixels?: number; // default 10,000,000 (10 MP)
}

export interface EngineOptions {
  modelsDir: string; // folder holding the fr_*.onnx files
  workers?: number; // native worker threads, each with its own networks; default: one per core
  queueSize?: number; // requests waiting for a worker before analyze() fails with BUSY; default 64
  backend?: Backend; // 'cuda' is used only when OpenCV has its CUDA backend and a device; else CPU (see info())
  limits?: ImageLimits;
  maskWeights?: string; // the mask classifier's weights file; default <repo>/assets/mask/mask_classifier.yml
  /** OpenCV's thread count (process-wide!). Default 0 = cores / workers, at least 1: measured best (RESULTS.md). */
  opencvThreads?: number;
  /** Where start-up warnings go (e.g. the CUDA fallback); default console.warn. */
  warn?: (message: string) => void;
}

/** The engine's options from the server's settings (the server and the CLI's stopped-server import open the same engine). */
export function engineOptions(config: Config): EngineOptions {
  return {
    modelsDir: config.modelsDir,
    workers: config.workers,
    queueSize: config.queueSize,
    backend: config.backend,
    limits: { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels, maxWidth: config.maxImageSide, maxHeight: config.maxImageSide },
  };
}


export interface AnalyzeOptions {
  detectFaces?: boolean; // default true; false = the whole image is one face crop
  minScore?: number; // detector threshold in [0,1], default 0.6
  maxFaces?: number; // keep the N biggest faces; 0 (default) = all
  minFaceSize?: number; // smallest face (px) the detector looks for in big frames (more windows = slower), default 40
  template?: boolean; // compute embedding + template
  attributes?: AttributeName[];
  cropSize?: number; // > 0: a square JPEG crop of each face, this many pixels a side (native/core/face_crop.h)
}

export interface FaceResult {
  box: Box; // square (side = detector box height), clipped to the image, in pixels of the oriented image
  score: number; // detector confidence (1 when detectFaces is false)
  landmarks68: Point[]; // iBUG-68 order
  landmarks5: Point[]; // the alignment points: eye centres (image-left first), nose tip, mouth corners
  keypoints: Record<KeypointName, Point>; // the 21 named keypoints (src/domain/types.ts)
  embedding?: Float32Array; // 512 values, unit length (flip-averaged)
  template?: Buffer; // binary template (see native/core/template_codec.h), base64 it for the APIs
  attributes?: FaceAttributes; // only the requested ones; built by native/binding/attributes_js.cpp
  crop?: Buffer; // JPEG, when cropSize was given
}

export interface AnalyzeResult {
  width: number;
  height: number;
  faces: FaceResult[]; // biggest first
  timings: Record<string, number>; // ms per stage, in run order
}

export interface ModelInfo {
  name: string;
  file: string;
  bytes: number;
}

export interface EngineInfo {
  addon: Record<string, unknown>; // OpenCV version, CPU features (addon.info())
  models: ModelInfo[];
  backend: { requested: Backend; used: Backend; fallbackReason?: string };
  workers: number;
  queueSize: number;
  queued: number;
  opencvThreads: number; // cv::setNumThreads is process-wide: cores / workers, at least 1
  limits: Required<ImageLimits>;
}

interface NativeEngine {
  ready(): Promise<void>;
  analyze(image: Buffer, options: AnalyzeOptions): Promise<AnalyzeResult>;
  info(): Omit<EngineInfo, 'addon'>;
  close(): Promise<void>;
}

/** Re-throws whatever the addon threw as an EngineError (the addon's errors carry .code). */
function asEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const code = (err as { code?: string })?.code;
  const known = (ENGINE_ERROR_CODES as readonly string[]).includes(code ?? '');
  return new EngineError(known ? (code as EngineErrorCode) : 'INTERNAL', (err as Error)?.message ?? String(err));
}

function sync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asEngineError(err);
  }
}

export class Engine {
  private constructor(private readonly native: NativeEngine) {}

  /** Starts the workers and loads every model; rejects with MODEL_LOAD naming a missing or corrupt file. */
  static async open(options: EngineOptions): Promise<Engine> {
    const addon = loadAddon();
    const { warn = console.warn, maskWeights = DEFAULT_MASK_WEIGHTS, ...rest } = options;
    const nativeOptions = { ...rest, maskWeights };
    const native = sync(() => new addon.Engine(nativeOptions) as NativeEngine);
    try {
      await native.ready();
    } catch (err) {
      await native.close().catch(() => undefined);
      throw asEngineError(err);
    }
    const { backend } = native.info();
    if (backend.fallbackReason) warn(`engine: backend '${backend.requested}' unavailable (${backend.fallbackReason}); using '${backend.used}'`);
    return new Engine(native);
  }

  info(): EngineInfo {
    return { addon: loadAddon().info(), ...sync(() => this.native.info()) };
  }

  async analyze(image: Buffer, options: AnalyzeOptions = {}): Promise<AnalyzeResult> {
    try {
      return await this.native.analyze(image, options);
    } catch (err) {
      throw asEngineError(err);
    }
  }

  /** Waits for the queued work, then stops the workers. Further calls fail with INVALID_ARGUMENT. */
  async close(): Promise<void> {
    await this.native.close();
  }

  static templateFromEmbedding(embedding: Float32Array): Buffer {
    return sync(() => loadAddon().templateFromEmbedding(embedding) as Buffer);
  }

  /** Throws TEMPLATE_MISMATCH for a template of another model, pipeline version or layout. */
  static embeddingFromTemplate(template: Buffer | Uint8Array): Float32Array {
    return sync(() => loadAddon().embeddingFromTemplate(template) as Float32Array);
  }

  static int8Code(embedding: Float32Array): Int8Array {
    return sync(() => loadAddon().int8Code(embedding) as Int8Array);
  }

  static signCode(embedding: Float32Array): Buffer {
    return sync(() => loadAddon().signCode(embedding) as Buffer);
  }
}
