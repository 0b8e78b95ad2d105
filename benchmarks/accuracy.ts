// Accuracy of the engine over a folder laid out like ../shared/facedata (see its MANIFEST.md):
//   npm run bench:accuracy -- --data DIR [--threshold T] [--workers N]
// Prints ONE JSON line: verification (accuracy at the best threshold or at T, TAR at FAR 1e-2 / 1e-3, ROC AUC,
// threshold transfer between halves and over 10 folds) per pair subset, 1:N rank-1 and open-set rejection per
// gallery, detection recall on annotated photos (IoU >= 0.5), and every attribute the folder labels and the
// engine can estimate, each with its sample count. A missing label file omits its metrics; an attribute the
// engine cannot compute is omitted with a note.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, EngineError, type AnalyzeResult, type AttributeName, type FaceResult } from '../src/engine/engine';
import { readTsv, type Row } from './lib/tsv';
import { verificationReport, type ScoredPair } from './lib/verification';

const REPO = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO, '../shared/facedata') },
    threshold: { type: 'string' },
    workers: { type: 'string', default: '2' },
    models: { type: 'string', default: path.join(REPO, 'models') },
  },
});
const DATA = path.resolve(args.data!);
const FIXED = args.threshold !== undefined ? Number(args.threshold) : undefined;
if (FIXED !== undefined && !Number.isFinite(FIXED)) throw new Error('--threshold must be a number');
const round = (v: number, digits = 4) => Number(v.toFixed(digits));
const notes: string[] = [];
const log = (msg: string) => process.stderr.write(`${msg}\n`);

// ---- what to compute for each image ----

interface Need {
  template: boolean;
  attributes: Set<AttributeName>;
}
const needs = new Map<string, Need>();
function need(file: string, template: boolean, attribute?: AttributeName) {
  const n = needs.get(file) ?? { template: false, attributes: new Set<AttributeName>() };
  n.template ||= template;
  if (attribute) n.attributes.add(attribute);
  needs.set(file, n);
}

const pairs = readTsv(DATA, 'pairs.tsv');
const identification = readTsv(DATA, 'identification.tsv');
const detection = readTsv(DATA, 'detection.tsv');
const attributeRows = readTsv(DATA, 'attributes.tsv');
for (const [name, rows] of Object.entries({ 'pairs.tsv': pairs, 'identification.tsv': identification, 'detection.tsv': detection, 'attributes.tsv': attributeRows }))
  if (!rows) notes.push(`${name} not found: its metrics are omitted`);

for (const p of pairs ?? []) {
  need(p.path1, true);
  need(p.path2, true);
}
for (const r of identification ?? []) need(r.path, true);

const LABEL_ATTRIBUTE: [keyof Row, AttributeName][] = [
  ['gender', 'gender'], ['age', 'age'], ['emotion', 'emotion'], ['mask', 'mask'], ['live', 'liveness'], ['eyes', 'eyes'], ['pose', 'pose'],
]; // prettier-ignore

// ---- running the engine ----

interface Analysis {
  face?: FaceResult; // the subject: the biggest face near the centre, or the whole image when none is found
  wholeImage: boolean;
  error?: string;
}

/** The photo's subject: among faces whose centre is in the middle half of the image, the biggest; else the biggest. */
function subject(r: AnalyzeResult): FaceResult | undefined {
  const central = r.faces.filter((f) => {
    const cx = (f.box.x + f.box.width / 2) / r.width;
    const cy = (f.box.y + f.box.height / 2) / r.height;
    return cx > 0.25 && cx < 0.75 && cy > 0.25 && cy < 0.75;
  });
  return (central.length ? central : r.faces)[0]; // faces come biggest first
}

async function analyzeSubject(engine: Engine, file: string, n: Need, attributes: AttributeName[]): Promise<Analysis> {
  let image: Buffer;
  try {
    image = fs.readFileSync(path.join(DATA, file));
  } catch {
    return { wholeImage: false, error: 'unreadable' };
  }
  const options = { template: n.template, attributes };
  try {
    const found = subject(await engine.analyze(image, options));
    if (found) return { face: found, wholeImage: false };
    // No face found: treat the image as a face crop (CompreFace's detect_faces=false).
    const whole = await engine.analyze(image, { ...options, detectFaces: false });
    return { face: whole.faces[0], wholeImage: true };
  } catch (err) {
    return { wholeImage: false, error: err instanceof EngineError ? err.code : String(err) };
  }
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(runners);
}

/** The attributes this engine can compute, found by asking once for each on a real photo. */
async function availableAttributes(engine: Engine, wanted: Set<AttributeName>): Promise<Set<AttributeName>> {
  const sample = [...needs.keys()].find((f) => fs.existsSync(path.join(DATA, f)));
  const ok = new Set<AttributeName>();
  if (!sample) return ok;
  const image = fs.readFileSync(path.join(DATA, sample));
  for (const a of wanted) {
    try {
      await engine.analyze(image, { detectFaces: false, attributes: [a] });
      ok.add(a);
    } catch (err) {
      notes.push(`attribute ${a} unavailable (${err instanceof EngineError ? err.code : 'error'}: ${(err as Error).message}): omitted`);
    }
  }
  return ok;
}

// ---- metrics ----

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

function verification(results: Map<string, Analysis>): Record<string, unknown> | undefined {
  if (!pairs?.length) return undefined;
  const groups = new Map<string, ScoredPair[]>();
  let missing = 0;
  for (const p of pairs) {
    const a = results.get(p.path1)?.face?.embedding;
    const b = results.get(p.path2)?.face?.embedding;
    if (!a || !b) missing++;
    const scored = { score: a && b ? cosine(a, b) : -1, same: p.same === '1' }; // no embedding = "different"
    const subset = p.subset || 'all';
    for (const g of new Set(['all', subset, ...(subset.startsWith('lfw') ? ['lfw'] : [])])) {
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(scored);
    }
  }
  const out: Record<string, unknown> = { pairsWithoutEmbedding: missing };
  for (const [g, scored] of groups) out[g] = verificationReport(scored, FIXED);
  return out;
}

function identificationReport(results: Map<string, Analysis>, threshold: number): Record<string, unknown> | undefined {
  if (!identification?.length) return undefined;
  const out: Record<string, unknown> = { threshold: round(threshold) };
  const sets = new Set(identification.map((r) => r.gallery_set || 'all'));
  for (const set of sets) {
    const rows = identification.filter((r) => (r.gallery_set || 'all') === set);
    const gallery = rows
      .filter((r) => r.role === 'gallery' || r.role === 'distractor')
      .map((r) => ({ identity: r.identity, embedding: results.get(r.path)?.face?.embedding }))
      .filter((g): g is { identity: string; embedding: Float32Array } => g.embedding !== undefined);
    const best = (e: Float32Array) =>
      gallery.reduce((top, g) => {
        const s = cosine(e, g.embedding);
        return s > top.score ? { score: s, identity: g.identity } : top;
      }, { score: -2, identity: '' }); // prettier-ignore
    let probes = 0, rank1 = 0, identifiedAtThreshold = 0, unknowns = 0, rejected = 0; // prettier-ignore
    for (const r of rows) {
      const e = results.get(r.path)?.face?.embedding;
      if (r.role === 'probe') {
        probes++;
        if (!e) continue;
        const top = best(e);
        if (top.identity === r.identity) {
          rank1++;
          if (top.score >= threshold) identifiedAtThreshold++;
        }
      } else if (r.role === 'unknown_probe') {
        unknowns++;
        if (!e || best(e).score < threshold) rejected++;
      }
    }
    out[set] = {
      gallery: gallery.length,
      rank1: { rate: probes ? round(rank1 / probes) : null, n: probes },
      identifiedAtThreshold: { rate: probes ? round(identifiedAtThreshold / probes) : null, n: probes },
      openSetRejection: { rate: unknowns ? round(rejected / unknowns) : null, n: unknowns },
    };
  }
  return out;
}

function iou(a: { x: number; y: number; width: number; height: number }, b: typeof a): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

async function detectionReport(engine: Engine): Promise<Record<string, unknown> | undefined> {
  const annotated = detection?.filter((r) => r.boxes_xywh);
  if (!annotated?.length) return undefined;
  let truth = 0, found = 0, detections = 0, images = 0; // prettier-ignore
  let sumIou = 0;
  for (const row of annotated) {
    let r: AnalyzeResult;
    try {
      r = await engine.analyze(fs.readFileSync(path.join(DATA, row.path)), { minFaceSize: 20 });
    } catch (err) {
      notes.push(`detection: ${row.path} failed (${(err as EngineError).code ?? err})`);
      continue;
    }
    images++;
    detections += r.faces.length;
    const unmatched = [...r.faces];
    for (const box of row.boxes_xywh.split(';')) {
      const [x, y, width, height] = box.split(',').map(Number);
      truth++;
      const scored = unmatched.map((f, i) => ({ i, v: iou(f.box, { x, y, width, height }) })).sort((a, b) => b.v - a.v)[0];
      if (scored && scored.v >= 0.5) {
        found++;
        sumIou += scored.v;
        unmatched.splice(scored.i, 1);
      }
    }
  }
  return {
    images,
    faces: truth,
    recall: truth ? round(found / truth) : null,
    meanIouOfMatches: found ? round(sumIou / found, 3) : null,
    detections,
    unmatchedDetections: detections - found,
  };
}

type Scorer = (label: string, face: FaceResult) => boolean | number | undefined;
const EMOTION_NAMES: Record<string, string> = {
  angry: 'angry', disgust: 'disgusted', fear: 'scared', happy: 'happy', neutral: 'neutral', sad: 'sad', surprise: 'surprised',
}; // prettier-ignore
/* eslint-disable @typescript-eslint/no-explicit-any */
const attr = (f: FaceResult) => (f.attributes ?? {}) as Record<string, any>;
const SCORERS: Record<string, { attribute: AttributeName; kind: 'accuracy' | 'mae'; score: Scorer }> = {
  gender: { attribute: 'gender', kind: 'accuracy', score: (l, f) => attr(f).gender && attr(f).gender.value === l },
  age: { attribute: 'age', kind: 'mae', score: (l, f) => attr(f).age && Math.abs(attr(f).age.years - Number(l)) },
  emotion: {
    attribute: 'emotion',
    kind: 'accuracy',
    score: (l, f) => (EMOTION_NAMES[l] && attr(f).emotion ? attr(f).emotion.top === EMOTION_NAMES[l] : undefined),
  },
  mask: { attribute: 'mask', kind: 'accuracy', score: (l, f) => attr(f).mask && attr(f).mask.masked === (l === 'yes') },
  live: { attribute: 'liveness', kind: 'accuracy', score: (l, f) => attr(f).liveness && attr(f).liveness.real === (l === 'yes') },
  eyes: {
    attribute: 'eyes',
    kind: 'accuracy',
    score: (l, f) => {
      const e = attr(f).eyes;
      if (!e) return undefined;
      const closed = (e.left.closed + e.right.closed) / 2 > 0.5;
      return closed === (l === 'closed');
    },
  },
  pose: {
    attribute: 'pose',
    kind: 'accuracy',
    score: (l, f) => {
      const p = attr(f).pose;
      if (!p) return undefined;
      const expected: Record<string, boolean> = { turned_left: p.yaw < 0, turned_right: p.yaw > 0, looking_up: p.pitch > 0, looking_down: p.pitch < 0 };
      return expected[l];
    },
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

function attributeReport(results: Map<string, Analysis>, available: Set<AttributeName>): Record<string, unknown> | undefined {
  if (!attributeRows?.length) return undefined;
  const out: Record<string, unknown> = {};
  for (const [label, scorer] of Object.entries(SCORERS)) {
    if (!available.has(scorer.attribute)) continue;
    const values: number[] = [];
    const bySource = new Map<string, number[]>();
    let noResult = 0;
    for (const row of attributeRows) {
      if (!row[label]) continue;
      const face = results.get(row.path)?.face;
      const v = face ? scorer.score(row[label], face) : undefined;
      if (v === undefined) {
        noResult++;
        continue;
      }
      const n = typeof v === 'boolean' ? Number(v) : v;
      values.push(n);
      const source = row.source || 'all';
      bySource.set(source, [...(bySource.get(source) ?? []), n]);
    }
    if (!values.length && !noResult) continue;
    const mean = (xs: number[]) => (xs.length ? round(xs.reduce((s, x) => s + x, 0) / xs.length, 3) : null);
    const key = scorer.kind === 'mae' ? 'mae' : 'accuracy';
    out[label] = {
      [key]: mean(values),
      n: values.length,
      unscored: noResult,
      bySource: Object.fromEntries([...bySource].map(([s, xs]) => [s, { [key]: mean(xs), n: xs.length }])),
    };
  }
  return out;
}

// ---- main ----

async function main() {
  const started = performance.now();
  const engine = await Engine.open({
    modelsDir: args.models!,
    workers: Number(args.workers),
    queueSize: 1024,
    limits: { maxPixels: 40_000_000, maxBytes: 50 * 1024 * 1024 },
  });
  try {
    const wanted = new Set<AttributeName>();
    for (const row of attributeRows ?? [])
      for (const [label, attribute] of LABEL_ATTRIBUTE) if (row[label]) wanted.add(attribute);
    const available = await availableAttributes(engine, wanted);
    for (const row of attributeRows ?? [])
      for (const [label, attribute] of LABEL_ATTRIBUTE) if (row[label] && available.has(attribute)) need(row.path, false, attribute);

    const results = new Map<string, Analysis>();
    const files = [...needs.keys()];
    let done = 0;
    await inParallel(files, 8, async (file) => {
      const n = needs.get(file)!;
      results.set(file, await analyzeSubject(engine, file, n, [...n.attributes]));
      if (++done % 200 === 0) log(`${done}/${files.length} images`);
    });
    const failed = [...results.values()].filter((r) => r.error).length;
    const wholeImage = [...results.values()].filter((r) => r.wholeImage).length;

    const verificationResult = verification(results);
    const allPairs = (verificationResult?.all as { bestThreshold?: number } | undefined)?.bestThreshold;
    const threshold = FIXED ?? allPairs ?? 0.3;
    const report = {
      data: DATA,
      images: { analyzed: files.length, failed, noFaceFoundUsedWholeImage: wholeImage },
      verification: verificationResult,
      identification: identificationReport(results, threshold),
      detection: await detectionReport(engine),
      attributes: attributeReport(results, available),
      engine: { workers: engine.info().workers, backend: engine.info().backend.used },
      seconds: round((performance.now() - started) / 1000, 1),
      notes,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await engine.close();
  }
}


main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
