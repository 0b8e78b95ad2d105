// One calibration of scores: the false-accept and false-reject rates of the shipped model as functions of the
// cosine of two unit embeddings, measured on labelled pairs (tools/calibrate.ts writes the asset) and tied to
// the model files' checksums. Every product scale is derived from it; no scale constant lives here.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readManifest } from '../engine/models';

export const DEFAULT_CALIBRATION = path.resolve(import.meta.dirname, '../../assets/calibration/fr_feature.json');

/** The asset's format version this code reads. */
export const CALIBRATION_VERSION = 1;

export interface ModelRef {
  file: string;
  sha256: string;
}

export interface ScoreCalibration {
  readonly model: ModelRef;
  /** Share of impostor pairs scoring >= cosine (the false-accept rate with cosine as the threshold). */
  far(cosine: number): number;
  /** Share of genuine pairs scoring < cosine (the false-reject rate with cosine as the threshold). */
  frr(cosine: number): number;
  /** The threshold (cosine) whose false-accept rate is `far`: the lowest cosine whose FAR is at most `far`. */
  cosineAtFar(far: number): number;
  /** The cosine where FAR = FRR. */
  readonly equalErrorCosine: number;
  /** Logistic fit of P(same) over the Euclidean distance d of unit embeddings: (tanh((c0 - d) * c1) + 1) / 2. */
  readonly logistic: { c0: number; c1: number };
}

export interface LoadedCalibration extends ScoreCalibration {
  readonly version: number;
  /** The other model files whose output changes the scores (detector, landmarks): checked like `model`. */
  readonly pipelineModels: readonly ModelRef[];
  readonly source: string;
}

/** The part of the asset this module reads (the tool writes more: provenance, pair counts, the tail fit). */
export interface CalibrationAsset {
  version: number;
  model: ModelRef;
  pipeline: { models: ModelRef[] };
  equalError: { cosine: number };
  logistic: { c0: number; c1: number };
  table: { columns: string[]; rows: number[][] };
}

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

/** Index of the last element <= x in an ascending array (-1 when x is below all). */
function lastAtOrBelow(xs: Float64Array, x: number): number {
  let lo = 0;
  let hi = xs.length; // answer in [lo - 1, hi - 1]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Piecewise-linear lookup over the table's cosines; the end rows' values beyond the ends. */
function interpolate(cosines: Float64Array, values: Float64Array, cosine: number): number {
  const i = lastAtOrBelow(cosines, cosine);
  if (i < 0) return values[0];
  if (i >= cosines.length - 1) return values[cosines.length - 1];
  const t = (cosine - cosines[i]) / (cosines[i + 1] - cosines[i]);
  return values[i] + t * (values[i + 1] - values[i]);
}

function column(asset: CalibrationAsset, name: string, where: string): Float64Array {
  const at = asset.table.columns.indexOf(name);
  if (at < 0) throw new CalibrationError(`${where}: the table has no "${name}" column`);
  return Float64Array.from(asset.table.rows, (row) => row[at]);
}

/** A calibration from a parsed asset; checks the table's shape and monotonicity so lookups can trust it. */
export function calibrationFromAsset(asset: CalibrationAsset, source = '(in memory)'): LoadedCalibration {
  if (asset.version !== CALIBRATION_VERSION) {
    throw new CalibrationError(`${source}: calibration format version ${asset.version}, this server reads version ${CALIBRATION_VERSION}`);
  }
  const cosines = column(asset, 'cosine', source);
  const fars = column(asset, 'far', source);
  const frrs = column(asset, 'frr', source);
  if (cosines.length < 2) throw new CalibrationError(`${source}: the table needs at least two rows`);
  for (let i = 0; i < cosines.length; i++) {
    const bad =
      !(fars[i] >= 0 && fars[i] <= 1 && frrs[i] >= 0 && frrs[i] <= 1) ||
      (i > 0 && !(cosines[i] > cosines[i - 1] && fars[i] <= fars[i - 1] && frrs[i] >= frrs[i - 1]));
    if (bad) throw new CalibrationError(`${source}: table row ${i} breaks ascending cosine, non-increasing FAR or non-decreasing FRR`);
  }
  const last = cosines.length - 1;

  const cosineAtFar = (far: number): number => {
    if (far >= fars[0]) return cosines[0];
    if (far < fars[last]) return cosines[last]; // stricter than the table reaches: its strictest threshold
    // First row whose FAR is <= far (FAR is non-increasing), then back along the segment before it.
    let lo = 1;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (fars[mid] <= far) hi = mid;
      else lo = mid + 1;
    }
    const t = (fars[lo - 1] - far) / (fars[lo - 1] - fars[lo]);
    return cosines[lo - 1] + t * (cosines[lo] - cosines[lo - 1]);
  };

  return {
    version: asset.version,
    source,
    model: { file: asset.model.file, sha256: asset.model.sha256 },
    pipelineModels: asset.pipeline.models.map((m) => ({ file: m.file, sha256: m.sha256 })),
    far: (cosine) => interpolate(cosines, fars, cosine),
    frr: (cosine) => interpolate(cosines, frrs, cosine),
    cosineAtFar,
    equalErrorCosine: asset.equalError.cosine,
    logistic: { c0: asset.logistic.c0, c1: asset.logistic.c1 },
  };
}

/** Reads the calibration asset (default: the shipped one for fr_feature.onnx). */
export function loadCalibration(file = DEFAULT_CALIBRATION): LoadedCalibration {
  let asset: CalibrationAsset;
  try {
    asset = JSON.parse(fs.readFileSync(file, 'utf8')) as CalibrationAsset;
  } catch (err) {
    throw new CalibrationError(`score calibration ${file} cannot be read: ${(err as Error).message}`);
  }
  return calibrationFromAsset(asset, file);
}

/**
 * Throws CalibrationError unless the model files are the ones the table was measured with. `modelsDirOrManifest`
 * is a models folder (the files are hashed) or a checksum list like models.sha256.
 */
export function checkCalibration(cal: ScoreCalibration & { pipelineModels?: readonly ModelRef[] }, modelsDirOrManifest: string): void {
  const isDir = fs.statSync(modelsDirOrManifest, { throwIfNoEntry: false })?.isDirectory() ?? false;
  const listed = isDir ? undefined : new Map(readManifest(modelsDirOrManifest).map((m) => [m.file, m.sha256]));
  for (const want of [cal.model, ...(cal.pipelineModels ?? [])]) {
    let actual: string | undefined;
    if (listed) actual = listed.get(want.file);
    else {
      const file = path.join(modelsDirOrManifest, want.file);
      if (fs.existsSync(file)) actual = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    }
    if (actual === undefined) throw new CalibrationError(`score calibration: ${want.file} is not in ${modelsDirOrManifest}`);
    if (actual !== want.sha256) {
      throw new CalibrationError(
        `score calibration was measured for ${want.file} sha256 ${want.sha256}, but ${modelsDirOrManifest} has sha256 ${actual}: ` +
          'scores of another model mean other error rates; re-run `node --import tsx tools/calibrate.ts` with this model',
      );
    }
  }
}
