// The benchmark peer: our detect -> landmarks -> align -> embed pipeline written the way a Node developer
// would, over onnxruntime-node and the same model files, following ../shared/docs/MODELS.md's pre- and
// post-processing. Decoding is sharp; every crop and warp is plain JS (./image.ts).

import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { cropMap, sampleToTensor, scaleMap, type InverseAffine, type RgbImage, type TensorLayout } from './image.js';
import { estimateSimilarity, inverseMap, type Point } from './similarity.js';

export interface PeerOptions {
  modelsDir: string;
  /** onnxruntime intra-op threads per session (1 = no extra threads). */
  intraOpThreads: number;
  minScore?: number;
  /** Also embed the mirrored crop and average (only if our engine does so: same work on both sides). */
  flipAverage?: boolean;
}

export interface PeerFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  landmarks68: Point[];
  embedding: Float32Array;
}

export interface PeerResult {
  width: number;
  height: number;
  faces: PeerFace[];
  /** Milliseconds per stage, same names as our engine's timings. */
  timings: Record<string, number>;
}

const DETECT_LAYOUT: TensorLayout = { width: 320, height: 240, colour: 'bgr', mean: 127, scale: 1 / 128, border: 'replicate' };
const LANDMARK_LAYOUT: TensorLayout = { width: 64, height: 64, colour: 'grey', mean: 0, scale: 1 / 256, border: 'replicate' };
const FEATURE_LAYOUT: TensorLayout = { width: 112, height: 112, colour: 'bgr', mean: 127, scale: 1 / 128, border: 'zero' };
const NMS_IOU = 0.4;

/** Where the 5 alignment points go in the 112x112 crop (MODELS.md). */
const REFERENCE_POINTS: Point[] = [
  [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041],
];

interface Box { x1: number; y1: number; x2: number; y2: number; score: number }

export class PeerPipeline {
  private constructor(
    private readonly detector: ort.InferenceSession,
    private readonly landmarker: ort.InferenceSession,
    private readonly extractor: ort.InferenceSession,
    private readonly minScore: number,
    private readonly flipAverage: boolean,
  ) {}

  static async open(options: PeerOptions): Promise<PeerPipeline> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      // Spinning intra-op threads made fr_feature 5x slower (wall) on this shared 2-core machine: off.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    };
    const load = (name: string) => ort.InferenceSession.create(path.join(options.modelsDir, name), sessionOptions);
    return new PeerPipeline(
      await load('fr_detect.onnx'),
      await load('fr_landmark.onnx'),
      await load('fr_feature.onnx'),
      options.minScore ?? 0.6,
      options.flipAverage ?? false,
    );
  }

  async analyze(jpeg: Buffer): Promise<PeerResult> {
    const timings: Record<string, number> = {};
    let t = performance.now();
    const lap = (stage: string) => {
      const now = performance.now();
      timings[stage] = (timings[stage] ?? 0) + (now - t);
      t = now;
    };

    const image = await decode(jpeg);
    lap('decode');
    const boxes = await this.detect(image);
    lap('detect');
    const faces: PeerFace[] = [];
    for (const box of boxes) {
      const landmarks68 = await this.landmarks(image, box);
      lap('landmarks');
      const embedding = await this.embed(image, landmarks68);
      lap('template');
      faces.push({
        box: { x: box.x1, y: box.y1, width: box.x2 - box.x1, height: box.y2 - box.y1 },
        score: box.score,
        landmarks68,
        embedding,
      });
    }
    return { width: image.width, height: image.height, faces, timings };
  }

  async close(): Promise<void> {
    await Promise.all([this.detector.release(), this.landmarker.release(), this.extractor.release()]);
  }

  /**
   * RFB-320 on the whole frame letterboxed into 320x240 (aspect kept, the rest mid-grey), score threshold,
   * NMS, boxes squared (side = height, centred) and clipped to the image, biggest first.
   */
  private async detect(image: RgbImage): Promise<Box[]> {
    const scale = Math.min(320 / image.width, 240 / image.height);
    const width = Math.min(320, Math.round(image.width * scale));
    const height = Math.min(240, Math.round(image.height * scale));
    const input = sampleToTensor(image, scaleMap(scale), DETECT_LAYOUT,
      { width, height, supersample: shrinkSamples(1 / scale) });
    const out = await this.detector.run({ input: new ort.Tensor('float32', input, [1, 3, 240, 320]) });
    const scores = out.scores.data as Float32Array;
    const boxes = out.boxes.data as Float32Array;
    const candidates: Box[] = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const score = scores[2 * i + 1];
      if (!(score >= this.minScore)) continue;
      const x1 = clamp(boxes[4 * i] * 320, 0, width) / scale;
      const y1 = clamp(boxes[4 * i + 1] * 240, 0, height) / scale;
      const x2 = clamp(boxes[4 * i + 2] * 320, 0, width) / scale;
      const y2 = clamp(boxes[4 * i + 3] * 240, 0, height) / scale;
      if (x2 > x1 && y2 > y1) candidates.push({ x1, y1, x2, y2, score });
    }
    return nonMaximumSuppression(candidates, NMS_IOU)
      .map((box) => squareAndClip(box, image))
      .filter((box) => area(box) > 0)
      .sort((p, q) => area(q) - area(p));
  }

  /** fr_landmark on the grey 64x64 crop of the whole-pixel square around the box (edges replicated). */
  private async landmarks(image: RgbImage, box: Box): Promise<Point[]> {
    const side = Math.max(1, Math.round(Math.max(box.x2 - box.x1, box.y2 - box.y1)));
    const exactSide = Math.max(box.x2 - box.x1, box.y2 - box.y1);
    const x = Math.round((box.x1 + box.x2) / 2 - exactSide / 2);
    const y = Math.round((box.y1 + box.y2) / 2 - exactSide / 2);
    const input = sampleToTensor(image, cropMap(x, y, side, 64, 64), LANDMARK_LAYOUT,
      { width: 64, height: 64, supersample: shrinkSamples(side / 64) });
    const out = await this.landmarker.run({ input: new ort.Tensor('float32', input, [1, 1, 64, 64]) });
    const v = out.output.data as Float32Array;
    const points: Point[] = [];
    for (let i = 0; i < 68; i++) points.push([x + v[2 * i] * side, y + v[2 * i + 1] * side]);
    return points;
  }

  /** 5-point similarity alignment to 112x112, fr_feature, L2 normalisation. */
  private async embed(image: RgbImage, landmarks68: Point[]): Promise<Float32Array> {
    const map = inverseMap(estimateSimilarity(alignmentPoints(landmarks68), REFERENCE_POINTS));
    const embedding = await this.runExtractor(sampleToTensor(image, map, FEATURE_LAYOUT));
    if (this.flipAverage) {
      const mirrored = await this.runExtractor(sampleToTensor(image, mirror(map, 112), FEATURE_LAYOUT));
      for (let i = 0; i < embedding.length; i++) embedding[i] += mirrored[i];
    }
    return l2Normalise(embedding);
  }

  private async runExtractor(input: Float32Array): Promise<Float32Array> {
    const out = await this.extractor.run({ input: new ort.Tensor('float32', input, [1, 3, 112, 112]) });
    return Float32Array.from(out.output.data as Float32Array);
  }
}

/** sharp decode with EXIF orientation applied, to interleaved RGB. */
async function decode(jpeg: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(jpeg).rotate().removeAlpha().toColourspace('srgb').raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Eye centres (mean of the 4 lid points), nose tip, mouth corners (outer and inner lip mean). */
export function alignmentPoints(p: Point[]): Point[] {
  const mean = (...idx: number[]): Point => [
    idx.reduce((s, i) => s + p[i][0], 0) / idx.length,
    idx.reduce((s, i) => s + p[i][1], 0) / idx.length,
  ];
  return [mean(37, 38, 40, 41), mean(43, 44, 46, 47), p[30], mean(48, 60), mean(54, 64)];
}

function mirror(map: InverseAffine, width: number): InverseAffine {
  // output x -> width-1-x, then the original map
  return { a: -map.a, b: map.b, c: map.a * (width - 1) + map.c, d: -map.d, e: map.e, f: map.d * (width - 1) + map.f };
}

/** Samples per axis that make bilinear sampling average like cv::INTER_AREA when shrinking by `factor`
 * (at 2x or less, one bilinear sample at the half-pixel centre already is that average, or close to it). */
function shrinkSamples(factor: number): number {
  return factor <= 2 ? 1 : Math.ceil(factor);
}

function squareAndClip(box: Box, image: RgbImage): Box {
  const side = box.y2 - box.y1;
  const cx = (box.x1 + box.x2) / 2;
  return {
    x1: clamp(cx - side / 2, 0, image.width),
    y1: clamp(box.y1, 0, image.height),
    x2: clamp(cx + side / 2, 0, image.width),
    y2: clamp(box.y2, 0, image.height),
    score: box.score,
  };
}

function nonMaximumSuppression(boxes: Box[], iouLimit: number): Box[] {
  const sorted = [...boxes].sort((p, q) => q.score - p.score);
  const kept: Box[] = [];
  for (const box of sorted) {
    if (kept.every((k) => iou(k, box) <= iouLimit)) kept.push(box);
  }
  return kept;
}

function iou(p: Box, q: Box): number {
  const w = Math.min(p.x2, q.x2) - Math.max(p.x1, q.x1);
  const h = Math.min(p.y2, q.y2) - Math.max(p.y1, q.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (area(p) + area(q) - inter);
}

function area(b: Box): number {
  return (b.x2 - b.x1) * (b.y2 - b.y1);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}
