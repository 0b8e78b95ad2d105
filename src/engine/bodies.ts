// Upright people (OpenCV's HOG people detector) through the addon's detectBodies(): it runs on a native
// thread of its own with a queue of 16 (BUSY beyond), so it never blocks the event loop or libuv's pool.
import { loadAddon } from './addon';
import { EngineError, ENGINE_ERROR_CODES, type EngineErrorCode, type Box } from './engine';

export interface Body {
  box: Box; // pixels of the oriented image
  score: number; // logistic of the SVM margin, 0.5 = on the decision boundary
}

export interface DetectBodiesOptions {
  minScore?: number; // default 0.5
  maxPixels?: number; // decode limit, default 10 MP, at most 50 MP
}

export async function detectBodies(image: Buffer, options: DetectBodiesOptions = {}): Promise<Body[]> {
  try {
    const raw = (await loadAddon().detectBodies(image, options)) as (Box & { score: number })[];
    return raw.map(({ x, y, width, height, score }) => ({ box: { x, y, width, height }, score }));
  } catch (err) {
    const code = (err as { code?: string })?.code ?? '';
    const known = (ENGINE_ERROR_CODES as readonly string[]).includes(code);
    throw new EngineError(known ? (code as EngineErrorCode) : 'INTERNAL', (err as Error)?.message ?? String(err));
  }
}
