// Measures the score calibration of the shipped model and writes it as a versioned asset
// (assets/calibration/fr_feature.json, read by src/domain/calibration.ts):
//   - every identity-labelled photo of a folder laid out like ../shared/facedata (images.tsv; the re-scaled
//     robustness copies left out) is embedded by the product's engine exactly as enrolment does;
//   - every same-identity pair is a genuine pair, every cross-identity pair an impostor pair; their cosines
//     give FAR(cosine) and FRR(cosine) on a cosine grid that is fine (0.001) over the impostor tail;
//   - above the highest impostor score the FAR is extrapolated by a named tail model and marked so;
//   - CompreFace's logistic constants are refitted over pairs.tsv the way they were first fitted, so that its
//     similarity numbers stay what they have always been.
// Usage: node --import tsx tools/calibrate.ts [--data ../shared/facedata] [--out assets/calibration/fr_feature.json]
//        [--models models] [--workers 2]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CALIBRATION_VERSION, calibrationFromAsset, type CalibrationAsset } from '../src/domain/calibration';
import { readManifest } from '../src/engine/models';
import {
  ENROLMENT_ANALYSIS,
  LEFT_OUT_SUBSETS,
  LOGISTIC_FIT_ANALYSIS,
  REPO_ROOT,
  SAME_PERSON_ACROSS_SOURCES,
  embedAsEnrolment,
  embedAsLogisticFit,
  fitLogisticOnPairs,
  officialPairPhotos,
  openEngine,
  readLabelledPhotos,
  scoreAllPairs,
  type PairScores,
} from './calibration-pairs';

/** The model whose scores are calibrated, and the models before it whose output changes them. */
export const FEATURE_MODEL = 'fr_feature.onnx';
export const UPSTREAM_MODELS = ['fr_detect.onnx', 'fr_landmark.onnx'];

/** The false-accept rates reported as operating points (FindFace's presets sit at 1e-1, 1e-3 and 1e-5). */
export const REPORTED_FARS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/** The tail model is fitted on the impostor scores above the FAR 1e-3 threshold (the top 0.1%). */
const TAIL_FIT_SHARE = 1e-3;

export const TABLE_COLUMNS = ['cosine', 'far', 'frr', 'impostorPairsAtOrAbove', 'genuinePairsBelow', 'extrapolated'];

/** First index whose value is >= x in an ascending array. */
export function lowerBound(xs: Float64Array, x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cosine grid in thousandths: 0.01 steps below the impostor median, 0.001 steps from there to 1. */
export function cosineGrid(impostor: Float64Array): number[] {
  const fineFrom = Math.floor(impostor[impostor.length >> 1] * 100) * 10; // thousandths, on a 0.01 boundary
  const grid: number[] = [];
  for (let k = -1000; k < fineFrom; k += 10) grid.push(k);
  for (let k = fineFrom; k <= 1000; k++) grid.push(k);
  return grid.map((k) => k / 1000);
}

export interface TailFit {
  model: string;
  exceedances: number;
  threshold: number;
  scale: number;
  /** The free generalised Pareto fit of the same exceedances, for the record (shape < 0: bounded at endPoint). */
  gpd: { shape: number; scale: number; endPoint: number | null };
  anchor: { cosine: number; far: number };
}

/** Generalised Pareto log-likelihood of exceedances x (>= 0) for shape xi and scale sigma. */
function gpdLogLikelihood(x: Float64Array, xi: number, sigma: number): number {
  let s = 0;
  for (const v of x) {
    const z = 1 + (xi * v) / sigma;
    if (z <= 0) return -Infinity;
    s += Math.abs(xi) < 1e-9 ? v / sigma : (1 + 1 / xi) * Math.log(z);
  }
  return -x.length * Math.log(sigma) - s;
}

/** Maximum-likelihood GPD shape and scale (shape in [-0.5, 0.5], where the estimator is regular). */
function fitGpd(x: Float64Array): { shape: number; scale: number } {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const max = x.reduce((a, b) => Math.max(a, b), 0);
  const bestSigma = (xi: number): number => {
    // Golden-section search over log(sigma); the likelihood is unimodal in sigma for fixed xi.
    let lo = Math.log(Math.max(1e-9, xi < 0 ? -xi * max * (1 + 1e-9) : mean * 1e-3));
    let hi = Math.log(mean * 10);
    for (let i = 0; i < 80; i++) {
      const a = hi - 0.618 * (hi - lo);
      const b = lo + 0.618 * (hi - lo);
      if (gpdLogLikelihood(x, xi, Math.exp(a)) < gpdLogLikelihood(x, xi, Math.exp(b))) lo = a;
      else hi = b;
    }
    return Math.exp((lo + hi) / 2);
  };
  const best = (from: number, to: number, step: number) => {
    let arg = from;
    let top = -Infinity;
    for (let xi = from; xi <= to + 1e-12; xi += step) {
      const ll = gpdLogLikelihood(x, xi, bestSigma(xi));
      if (ll > top) [top, arg] = [ll, xi];
    }
    return arg;
  };
  const coarse = best(-0.5, 0.5, 0.01);
  const shape = best(coarse - 0.01, coarse + 0.01, 0.0005);
  return { shape, scale: bestSigma(shape) };
}

/**
 * The impostor tail beyond the data: an exponential tail (a generalised Pareto tail with its shape fixed at 0),
 * its scale fitted by maximum likelihood (the mean excess) on the top TAIL_FIT_SHARE of impostor scores, and
 * anchored at the highest impostor score (FAR 1/n there) so the table stays continuous and monotone. The free
 * GPD shape fitted on the same scores is recorded: a negative one means a lighter, bounded tail, so the
 * exponential overstates the FAR beyond the data (thresholds come out stricter, never laxer).
 */
export function fitTail(impostor: Float64Array): TailFit {
  const n = impostor.length;
  const k = Math.ceil(n * TAIL_FIT_SHARE);
  const threshold = impostor[n - k - 1];
  const excess = Float64Array.from(impostor.subarray(n - k), (c) => c - threshold);
  const scale = excess.reduce((a, b) => a + b, 0) / k;
  const gpd = fitGpd(excess);
  return {
    model: 'exponential tail (generalised Pareto, shape 0) anchored at the highest impostor score',
    exceedances: k,
    threshold,
    scale,
    gpd: {
      shape: Number(gpd.shape.toFixed(4)),
      scale: Number(gpd.scale.toPrecision(4)),
      endPoint: gpd.shape < 0 ? Number((threshold - gpd.scale / gpd.shape).toFixed(4)) : null,
    },
    anchor: { cosine: impostor[n - 1], far: 1 / n },
  };
}

export function tailFar(tail: TailFit, cosine: number): number {
  return tail.anchor.far * Math.exp(-(cosine - tail.anchor.cosine) / tail.scale);
}

/** The table rows: measured where any impostor pair scores at or above the cosine, extrapolated above them. */
export function buildTable(scores: PairScores, tail: TailFit): number[][] {
  const { genuine, impostor } = scores;
  const sig = (x: number) => Number(x.toPrecision(6));
  return cosineGrid(impostor).map((cosine) => {
    const atOrAbove = impostor.length - lowerBound(impostor, cosine);
    const below = lowerBound(genuine, cosine);
    const far = atOrAbove > 0 ? atOrAbove / impostor.length : tailFar(tail, cosine);
    return [cosine, sig(far), sig(below / genuine.length), atOrAbove, below, atOrAbove > 0 ? 0 : 1];
  });
}

/** The cosine where the measured FAR (impostors >= c) meets the measured FRR (genuine < c), by bisection. */
export function equalError(scores: PairScores): { cosine: number; rate: number } {
  const far = (c: number) => (scores.impostor.length - lowerBound(scores.impostor, c)) / scores.impostor.length;
  const frr = (c: number) => lowerBound(scores.genuine, c) / scores.genuine.length;
  let [lo, hi] = [-1, 1];
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (far(mid) > frr(mid)) lo = mid;
    else hi = mid;
  }
  return { cosine: Number(hi.toFixed(4)), rate: Number(((far(hi) + frr(hi)) / 2).toPrecision(4)) };
}

/** Wilson score interval (95%) of a rate measured as k successes out of n. */
export function wilson95(k: number, n: number): [number, number] {
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** JSON with one table row per line: readable diffs, no 5,000-line file. */
function formatAsset(asset: Record<string, unknown> & { table: { rows: number[][] } }): string {
  const rows = asset.table.rows;
  const text = JSON.stringify({ ...asset, table: { ...asset.table, rows: '@ROWS@' } }, null, 2);
  return text.replace('"@ROWS@"', `[\n${rows.map((r) => `      ${JSON.stringify(r)}`).join(',\n')}\n    ]`) + '\n';
}

const USAGE = `usage: node --import tsx tools/calibrate.ts [--data DIR] [--out FILE] [--models DIR] [--workers N]
  --data     a folder laid out like ../shared/facedata (images.tsv, pairs.tsv)  [../shared/facedata]
  --out      the asset to write                                            [assets/calibration/fr_feature.json]
  --models   the model files (checked against models.sha256)               [models]
  --workers  engine worker threads                                          [2]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      data: { type: 'string', default: path.relative(process.cwd(), path.join(REPO_ROOT, '../shared/facedata')) },
      out: { type: 'string', default: path.relative(process.cwd(), path.join(REPO_ROOT, 'assets/calibration/fr_feature.json')) },
      models: { type: 'string', default: path.relative(process.cwd(), path.join(REPO_ROOT, 'models')) },
      workers: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${values.workers}`);
  const dataDir = path.resolve(values.data);
  const started = Date.now();

  const manifest = new Map(readManifest().map((m) => [m.file, m.sha256]));
  for (const file of [FEATURE_MODEL, ...UPSTREAM_MODELS]) {
    const actual = sha256File(path.join(values.models, file));
    if (actual !== manifest.get(file)) throw new Error(`${file} in ${values.models} has sha256 ${actual}, models.sha256 says ${manifest.get(file)}`);
  }

  const { photos, leftOut } = readLabelledPhotos(dataDir);
  const engine = await openEngine(values.models, workers);
  let enrolled, legacy;
  try {
    enrolled = await embedAsEnrolment(engine, dataDir, photos.map((p) => p.path));
    legacy = await embedAsLogisticFit(engine, dataDir, officialPairPhotos(dataDir));
  } finally {
    await engine.close();
  }
  const scores = scoreAllPairs(photos, enrolled.embeddings);
  const tail = fitTail(scores.impostor);
  const rows = buildTable(scores, tail);
  const eer = equalError(scores);
  const logistic = fitLogisticOnPairs(dataDir, legacy.embeddings);
  const refit = fitLogisticOnPairs(dataDir, enrolled.embeddings);
  const modelRef = (file: string) => ({ file, sha256: manifest.get(file)! });
  const core: CalibrationAsset = {
    version: CALIBRATION_VERSION,
    model: modelRef(FEATURE_MODEL),
    pipeline: { models: UPSTREAM_MODELS.map(modelRef) },
    equalError: eer,
    logistic: { c0: logistic.c0, c1: logistic.c1 },
    table: { columns: TABLE_COLUMNS, rows },
  };

  // Operating points, read back through the same code the server uses.
  const cal = calibrationFromAsset(core);
  const n = scores.impostor.length;
  const operatingPoints = REPORTED_FARS.map((far) => {
    const cosine = cal.cosineAtFar(far);
    const impostorPairs = n - lowerBound(scores.impostor, cosine);
    const [low, high] = wilson95(impostorPairs, n);
    return {
      far,
      cosine: Number(cosine.toFixed(4)),
      frr: Number(cal.frr(cosine).toPrecision(4)),
      impostorPairsAtOrAbove: impostorPairs,
      expectedImpostorPairs: Number((far * n).toPrecision(4)),
      measuredFar95: [Number(low.toPrecision(3)), Number(high.toPrecision(3))],
      extrapolated: far * n < 1,
    };
  });
  const half = 1 - (logistic.c0 * logistic.c0) / 2; // CompreFace similarity 0.5 <=> d = c0 <=> cosine 1 - c0^2 / 2

  const asset = {
    version: core.version,
    model: core.model,
    pipeline: {
      models: core.pipeline.models,
      score: 'cosine of the L2-normalised embeddings of two faces',
      flipAveraged: true, // native/core/pipeline.h kFlipAverage: the embedding of the mirrored crop is averaged in
      templatePipelineVersion: enrolled.templatePipelineVersion,
      alignment: '5-point similarity transform to the MODELS.md reference points, 112x112',
      faceSelection: "as enrolment: the dominant face (src/domain/analysis.ts selectFaces 'dominant'); photos it refuses are unusable",
      analysis: ENROLMENT_ANALYSIS,
      detector: 'engine defaults (minScore 0.6, minFaceSize 40)',
    },
    data: {
      folder: path.relative(REPO_ROOT, dataDir),
      files: { 'images.tsv': sha256File(path.join(dataDir, 'images.tsv')), 'pairs.tsv': sha256File(path.join(dataDir, 'pairs.tsv')) },
      leftOut: { subsets: LEFT_OUT_SUBSETS, photos: leftOut, why: 're-scaled / cropped copies of photos already in the set' },
      identityAliases: SAME_PERSON_ACROSS_SOURCES,
      lfwErrata: "images.tsv's identities (the LFW errata relabels applied there) are used as they are",
      photos: { listed: photos.length, usable: scores.photos, unusable: enrolled.unusable },
      identities: scores.identities,
      pairs: { genuine: scores.genuine.length, impostor: scores.impostor.length },
    },
    created: new Date().toISOString(),
    command: ['node --import tsx tools/calibrate.ts', ...process.argv.slice(2)].join(' '),
    equalError: core.equalError,
    tail: {
      ...tail,
      extrapolatedBeyond: `cosine ${tail.anchor.cosine.toFixed(4)} (the highest impostor score; FAR below 1/${scores.impostor.length} is not measured)`,
    },
    logistic: {
      ...core.logistic,
      fit:
        'CompreFace similarity (tanh((c0 - d) * c1) + 1) / 2 over Euclidean distance d: c0 = equal-error distance, c1 = ' +
        'maximum-likelihood slope, over pairs.tsv (errata pairs left out), each photo the biggest face with minFaceSize 32 ' +
        '(as first fitted on 2026-11-23; frozen so that CompreFace similarity numbers do not change)',
      analysis: LOGISTIC_FIT_ANALYSIS,
      equalErrorRate: Number(logistic.eer.toPrecision(4)),
      pairs: logistic.pairs,
      currentPipelineRefit: { c0: refit.c0, c1: refit.c1, equalErrorRate: Number(refit.eer.toPrecision(4)), pairs: refit.pairs },
    },
    operatingPoints,
    compreFaceSimilarityHalf: { cosine: Number(half.toFixed(4)), far: Number(cal.far(half).toPrecision(4)), frr: Number(cal.frr(half).toPrecision(4)) },
    table: core.table, // the long table last
  };
  fs.mkdirSync(path.dirname(values.out), { recursive: true });
  fs.writeFileSync(values.out, formatAsset(asset));
  console.log(JSON.stringify({ ...asset, table: undefined, seconds: Math.round((Date.now() - started) / 1000), rows: rows.length }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main().catch((err: Error & { code?: string }) => {
    // A mistyped option is the user's slip: say which and how to call, without a stack.
    if (!err.code?.startsWith('ERR_PARSE_ARGS')) throw err;
    console.error(`${err.message}\n${USAGE}`);
    process.exitCode = 2;
  });
}
