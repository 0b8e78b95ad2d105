// The measured material of the score calibration, shared by tools/calibrate.ts and test/calibration.test.ts:
// the identity-labelled photos of a folder laid out like ../shared/facedata, each embedded by the product's own
// engine exactly as enrolment does (the dominant face of the photo), and the cosines of every same-identity
// (genuine) and cross-identity (impostor) pair of them. Also pairs.tsv's distances and the logistic fit of
// CompreFace's similarity, which must keep reproducing the constants the server has always used.
import fs from 'node:fs';
import path from 'node:path';
import { detectionLimit, selectFaces } from '../src/domain/analysis';
import { EngineFaceAnalyzer } from '../src/domain/face-analyzer';
import { Engine } from '../src/engine/engine';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** Re-scaled / cropped copies of photos already in the set: pairing them with their originals would fake genuine pairs. */
export const LEFT_OUT_SUBSETS = ['web_face_recognition_robustness'] as const;

/** pairs.tsv note of an official LFW pair whose label the LFW errata say is wrong. */
export const ERRATA_PAIR_NOTE = 'official_label_wrong_per_LFW_errata';

/**
 * One person under two identities: images.tsv prefixes identities per source, which assumes no person is in two
 * sources. deepface's img38.jpg (its only photo of "person_09") is George Clooney, who is also an LFW identity
 * (checked by eye; it scores 0.26-0.61 with all nine LFW photos of him, five of them the highest "impostor"
 * scores of the whole set). Counting those nine pairs as impostors would set the FAR 1e-5 point on them.
 */
export const SAME_PERSON_ACROSS_SOURCES: Readonly<Record<string, string>> = { 'deepface:person_09': 'George_Clooney' };

export interface LabelledPhoto {
  path: string; // relative to the data folder
  identity: string; // images.tsv's identity (LFW errata relabels already applied there), aliases merged
  subset: string;
}

function readTsv(file: string): Record<string, string>[] {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const columns = header.split('\t');
  return lines.map((line) => {
    const fields = line.split('\t');
    return Object.fromEntries(columns.map((c, i) => [c, fields[i] ?? '']));
  });
}

/** images.tsv's identity-labelled photos, minus the left-out subsets, with cross-source aliases merged. */
export function readLabelledPhotos(dataDir: string): { photos: LabelledPhoto[]; leftOut: number } {
  const rows = readTsv(path.join(dataDir, 'images.tsv'));
  const kept = rows.filter((r) => !(LEFT_OUT_SUBSETS as readonly string[]).includes(r.subset));
  const photos = kept.map((r) => ({ path: r.path, identity: SAME_PERSON_ACROSS_SOURCES[r.identity] ?? r.identity, subset: r.subset }));
  return { photos, leftOut: rows.length - kept.length };
}

export interface LabelledPair {
  a: string;
  b: string;
  same: boolean;
}

/** pairs.tsv without the pairs the LFW errata call mislabelled. */
export function readOfficialPairs(dataDir: string): { pairs: LabelledPair[]; errata: number } {
  const rows = readTsv(path.join(dataDir, 'pairs.tsv'));
  const kept = rows.filter((r) => r.note !== ERRATA_PAIR_NOTE);
  return { pairs: kept.map((r) => ({ a: r.path1, b: r.path2, same: r.same === '1' })), errata: rows.length - kept.length };
}

export type Embeddings = Map<string, Float32Array | undefined>;

export interface Embedded {
  /** Unit embedding of each photo's chosen face; undefined when it has none. */
  embeddings: Embeddings;
  /** Why photos gave no embedding: error code -> count (NO_FACE, TOO_MANY_FACES, CORRUPT_IMAGE, ...). */
  unusable: Record<string, number>;
  /** The template's pipeline version (alignment, pre-processing, flip averaging), read from a template the engine made. */
  templatePipelineVersion?: number;
}

export function openEngine(modelsDir: string, workers = 2): Promise<Engine> {
  return Engine.open({ modelsDir, workers });
}

type EmbedOne = (image: Buffer) => Promise<{ embedding: Float32Array; template?: Uint8Array }>;

/** Runs `embedOne` over the photos with `concurrency` requests in flight (enough to keep the workers busy). */
async function embedAll(dataDir: string, relPaths: readonly string[], embedOne: EmbedOne, concurrency = 8): Promise<Embedded> {
  const result: Embedded = { embeddings: new Map(), unusable: {} };
  const queue = [...new Set(relPaths)];
  const worker = async () => {
    for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
      try {
        const face = await embedOne(fs.readFileSync(path.join(dataDir, rel)));
        result.embeddings.set(rel, unit(face.embedding));
        if (result.templatePipelineVersion === undefined && face.template && face.template.length >= 16) {
          result.templatePipelineVersion = Buffer.from(face.template).readUInt16LE(12); // see native/core/template_codec.h
        }
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (!code) throw err;
        result.unusable[code] = (result.unusable[code] ?? 0) + 1;
        result.embeddings.set(rel, undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/** What enrolment asks the engine for (src/domain/faces.ts): as many faces as the dominant-face rule looks at. */
export const ENROLMENT_ANALYSIS = { detectFaces: true, maxFaces: detectionLimit('dominant'), template: true, attributes: [] };

/** Each photo's face exactly as enrolment picks it by default: the dominant face, else the photo is unusable. */
export function embedAsEnrolment(engine: Engine, dataDir: string, relPaths: readonly string[]): Promise<Embedded> {
  const analyzer = new EngineFaceAnalyzer(engine);
  return embedAll(dataDir, relPaths, async (image) => selectFaces(await analyzer.analyze(image, ENROLMENT_ANALYSIS), 'dominant')[0]);
}

/**
 * How CompreFace's logistic constants were first fitted (2026-11-23, by tools/fit-similarity.ts, now folded into
 * tools/calibrate.ts): each photo's biggest face, with the detector's smallest face at 32 px, the engine's
 * default of that day (dff16a3 moved it to 40; the fit ran on an addon built before that). Only big web photos
 * are detected differently at 32 and 40 px.
 */
export const LOGISTIC_FIT_ANALYSIS = { detectFaces: true, maxFaces: 1, minFaceSize: 32, template: true };

export function embedAsLogisticFit(engine: Engine, dataDir: string, relPaths: readonly string[]): Promise<Embedded> {
  return embedAll(dataDir, relPaths, async (image) => {
    const face = (await engine.analyze(image, LOGISTIC_FIT_ANALYSIS)).faces[0];
    if (!face?.embedding) throw Object.assign(new Error('no face'), { code: 'NO_FACE' });
    return { embedding: face.embedding, template: face.template };
  });
}

/** The engine's embeddings are unit already; normalising again keeps the cosine a plain dot product regardless. */
function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / (Math.sqrt(n) || 1);
  return v.map((x) => x * inv);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface PairScores {
  /** Cosines of every same-identity pair, ascending. */
  genuine: Float64Array;
  /** Cosines of every cross-identity pair, ascending. */
  impostor: Float64Array;
  photos: number;
  identities: number;
}

/** Every pair of the usable photos, split by identity. */
export function scoreAllPairs(photos: readonly LabelledPhoto[], embeddings: Embeddings): PairScores {
  const usable = photos.flatMap((p) => {
    const e = embeddings.get(p.path);
    return e ? [{ identity: p.identity, e }] : [];
  });
  const genuine: number[] = [];
  const impostor = new Float64Array((usable.length * (usable.length - 1)) / 2);
  let n = 0;
  for (let i = 0; i < usable.length; i++) {
    for (let j = i + 1; j < usable.length; j++) {
      const c = dot(usable[i].e, usable[j].e);
      if (usable[i].identity === usable[j].identity) genuine.push(c);
      else impostor[n++] = c;
    }
  }
  return {
    genuine: Float64Array.from(genuine).sort(),
    impostor: impostor.subarray(0, n).sort(),
    photos: usable.length,
    identities: new Set(usable.map((u) => u.identity)).size,
  };
}

/** Euclidean distances of unit embeddings for the labelled pairs whose two photos are usable. */
export function pairDistances(pairs: readonly LabelledPair[], embeddings: Embeddings) {
  const same: number[] = [];
  const different: number[] = [];
  let skipped = 0;
  for (const pair of pairs) {
    const [a, b] = [embeddings.get(pair.a), embeddings.get(pair.b)];
    if (!a || !b) {
      skipped++;
      continue;
    }
    (pair.same ? same : different).push(Math.sqrt(Math.max(0, 2 - 2 * dot(a, b))));
  }
  return { same, different, skipped };
}

/** The distance where the false reject rate (same pairs above it) meets the false accept rate (different pairs at or below). */
export function equalErrorDistance(same: readonly number[], different: readonly number[]): { threshold: number; eer: number } {
  const s = [...same].sort((a, b) => a - b);
  const d = [...different].sort((a, b) => a - b);
  const candidates = [...s, ...d].sort((a, b) => a - b);
  let best = { threshold: candidates[0], eer: 1, gap: Infinity };
  let sameAtOrBelow = 0;
  let differentAtOrBelow = 0;
  // Sweep thresholds upward between consecutive distances, counting with two pointers.
  for (let i = 0; i + 1 < candidates.length; i++) {
    const t = (candidates[i] + candidates[i + 1]) / 2;
    while (sameAtOrBelow < s.length && s[sameAtOrBelow] <= t) sameAtOrBelow++;
    while (differentAtOrBelow < d.length && d[differentAtOrBelow] <= t) differentAtOrBelow++;
    const frr = (s.length - sameAtOrBelow) / s.length;
    const far = differentAtOrBelow / d.length;
    const gap = Math.abs(frr - far);
    if (gap < best.gap) best = { threshold: t, eer: (frr + far) / 2, gap };
  }
  return { threshold: best.threshold, eer: best.eer };
}

/** Maximum-likelihood slope c1 of p(same) = (tanh(c1 (c0 - d)) + 1) / 2, by Newton steps on the log-likelihood. */
export function fitSlope(same: readonly number[], different: readonly number[], c0: number): number {
  const samples = [...same.map((d) => ({ x: c0 - d, y: 1 })), ...different.map((d) => ({ x: c0 - d, y: 0 }))];
  let c1 = 5;
  for (let iter = 0; iter < 100; iter++) {
    // (tanh(z)+1)/2 = sigmoid(2z): logistic regression with feature 2x and no intercept.
    let grad = 0;
    let hess = 0;
    for (const { x, y } of samples) {
      const p = 1 / (1 + Math.exp(-2 * c1 * x));
      grad += (y - p) * 2 * x;
      hess -= p * (1 - p) * 4 * x * x;
    }
    const step = grad / hess;
    c1 -= step;
    if (Math.abs(step) < 1e-9) break;
  }
  return c1;
}

/**
 * CompreFace's logistic (tanh((c0 - d) * c1) + 1) / 2: c0 = the equal-error distance (similarity 0.5 sits where
 * false accepts equal false rejects), c1 = the maximum-likelihood slope with c0 held; rounded to 4 decimals.
 */
export function fitLogistic(same: readonly number[], different: readonly number[]) {
  const { threshold, eer } = equalErrorDistance(same, different);
  const c1 = fitSlope(same, different, threshold);
  return { c0: Number(threshold.toFixed(4)), c1: Number(c1.toFixed(4)), eer };
}

export interface LogisticFit {
  c0: number;
  c1: number;
  eer: number;
  pairs: { same: number; different: number; skipped: number; errataLeftOut: number };
}

/** The whole logistic fit over pairs.tsv, with the given embeddings (a superset of pairs.tsv's photos). */
export function fitLogisticOnPairs(dataDir: string, embeddings: Embeddings): LogisticFit {
  const { pairs, errata } = readOfficialPairs(dataDir);
  const d = pairDistances(pairs, embeddings);
  return { ...fitLogistic(d.same, d.different), pairs: { same: d.same.length, different: d.different.length, skipped: d.skipped, errataLeftOut: errata } };
}

/** Every photo pairs.tsv names (the logistic fit's photos). */
export function officialPairPhotos(dataDir: string): string[] {
  return [...new Set(readOfficialPairs(dataDir).pairs.flatMap((p) => [p.a, p.b]))];
}
