// npm run bench:pipeline [-- --seconds S --rounds R --warmup S --photo FILE --models DIR
//                            --attribute-seconds S --no-peer-flip]
//
// Images per second for decode + detect + landmarks + template on a 640x480 one-face photo, our engine against
// the same pipeline as a plain Node program over onnxruntime-node (benchmarks/peer/), in three like-for-like
// pairs: 1 thread one image at a time, 2 threads one image at a time, 2 threads two images at a time; the
// ratios ours/peer; per-attribute cost per face from our engine; and a check that both pipelines give the same
// embeddings (the run fails below MIN_AGREEMENT). One JSON line per configuration, then a summary line.
// Bounded: each pair is measured in ROUNDS interleaved slices of SECONDS/ROUNDS each, after a short warm-up.
// FACESERVER_ADDON selects another addon build (src/engine/addon.ts). Results: benchmarks/RESULTS.md.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Engine, type AttributeName, type Box, ATTRIBUTE_NAMES } from '../src/engine/engine.js';
import { PeerPipeline, type PeerResult } from './peer/peer_pipeline.js';
import { PeerPool } from './peer/peer_pool.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' }, // measured seconds per configuration, over all rounds
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.3' }, // seconds before each measured slice
    photo: { type: 'string', default: path.resolve(repoRoot, '../shared/facedata/web/face_recognition/barack_obama/obama.jpg') },
    models: { type: 'string', default: path.join(repoRoot, 'models') },
    'attribute-seconds': { type: 'string', default: '1.5' },
    // Our engine embeds the aligned crop and its mirror image (kFlipAverage in native/core/pipeline.h): the
    // peer does the same work unless told otherwise.
    'peer-flip': { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const SECONDS = Number(args.seconds);
const ROUNDS = Math.max(1, Number(args.rounds));
const SLICE_WARMUP_SECONDS = Number(args.warmup);
const ATTRIBUTE_SECONDS = Number(args['attribute-seconds']);
const MODELS_DIR = args.models;
const PEER_FLIP = args['peer-flip'];
const ATTRIBUTES: readonly AttributeName[] = ATTRIBUTE_NAMES;
/** Besides the benchmark photo and the source photo, this many LFW photos (from pairs.tsv) are compared. */
const AGREEMENT_LFW_PHOTOS = 6;
const MIN_AGREEMENT = 0.99;

/** Anything that analyses one photo asynchronously and reports per-stage milliseconds. */
type Analyze = (image: Buffer) => Promise<{ timings: Record<string, number> }>;

interface Throughput {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** process CPU time (all threads) per image: less sensitive than wall time to other load on the machine */
  cpuMsPerImage: number;
  /** median ms per stage over the measured window */
  stageMedianMs: Record<string, number>;
  /** 10th percentile ms per stage: closer to the uncontended cost when other work shares the cores */
  stageP10Ms: Record<string, number>;
}

function emit(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

/** The benchmark photo: a real photo fitted into 640x480 (padded, not stretched), JPEG-encoded in memory. */
async function makeBenchPhoto(file: string): Promise<Buffer> {
  return sharp(fs.readFileSync(file))
    .rotate()
    .resize(640, 480, { fit: 'contain', background: { r: 128, g: 128, b: 128 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** One pipeline under test, ready to take images. */
interface Contender {
  name: string;
  /** printed with the results (e.g. the thread counts actually used) */
  details?: Record<string, unknown>;
  analyze: Analyze;
  /** calls kept in flight: enough to keep every worker busy while results travel back */
  inFlight: number;
  close(): Promise<void>;
}

/** What the slices of one contender add up to. */
class Tally {
  images = 0;
  ms = 0;
  cpuMs = 0;
  readonly stages = new Map<string, number[]>();

  result(): Throughput {
    const stageMedianMs: Record<string, number> = {};
    const stageP10Ms: Record<string, number> = {};
    for (const [stage, values] of this.stages) {
      stageMedianMs[stage] = round(quantile(values, 0.5), 2);
      stageP10Ms[stage] = round(quantile(values, 0.1), 2);
    }
    return {
      images: this.images,
      seconds: round(this.ms / 1000, 2),
      imagesPerSecond: round((this.images * 1000) / this.ms, 1),
      cpuMsPerImage: round(this.cpuMs / Math.max(1, this.images), 2),
      stageMedianMs,
      stageP10Ms,
    };
  }
}

/** Keeps `inFlight` calls running through a short warm-up, then counts completions over a fixed window. */
async function runSlice(contender: Contender, image: Buffer, seconds: number, tally: Tally): Promise<void> {
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  const loop = async () => {
    while (phase !== 'done') {
      const result = await contender.analyze(image);
      if (phase !== 'measure') continue;
      tally.images++;
      for (const [stage, ms] of Object.entries(result.timings)) {
        if (!tally.stages.has(stage)) tally.stages.set(stage, []);
        tally.stages.get(stage)!.push(ms);
      }
    }
  };
  const runners = Array.from({ length: contender.inFlight }, loop);
  await sleep(SLICE_WARMUP_SECONDS * 1000);
  phase = 'measure';
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await sleep(seconds * 1000);
  phase = 'done';
  tally.ms += performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  tally.cpuMs += (cpu.user + cpu.system) / 1000;
  await Promise.all(runners);
}

/**
 * Measures the contenders in turns (ROUNDS slices each, round-robin) so that whatever else runs on the
 * machine weighs on all of them alike; emits one line per contender.
 */
async function interleave(contenders: Contender[], image: Buffer, results: Map<string, Throughput>): Promise<void> {
  const tallies = contenders.map(() => new Tally());
  for (const contender of contenders) await runSlice(contender, image, 0, new Tally()); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < contenders.length; i++) await runSlice(contenders[i], image, SECONDS / ROUNDS, tallies[i]);
  }
  contenders.forEach((contender, i) => {
    const t = tallies[i].result();
    results.set(contender.name, t);
    emit({ config: contender.name, ...contender.details, ...t });
  });
}

/** opencvThreads 0 = the engine's default (cores / workers). cv::setNumThreads is process-wide: one engine at a time. */
async function openOurs(workers: number, opencvThreads = 0): Promise<Engine> {
  return Engine.open({ modelsDir: MODELS_DIR, workers, opencvThreads });
}

async function oursContender(image: Buffer, workers: number, opencvThreads = 0): Promise<Contender> {
  const engine = await openOurs(workers, opencvThreads);
  const first = await engine.analyze(image, { template: true });
  if (first.faces.length !== 1 || !first.faces[0].embedding) {
    await engine.close();
    throw new Error(`ours found ${first.faces.length} faces on the benchmark photo`);
  }
  const threads = engine.info().opencvThreads;
  return {
    name: `ours workers=${workers}${opencvThreads ? ` opencvThreads=${opencvThreads}` : ''}`,
    details: { opencvThreadsPerProcess: threads },
    analyze: (img) => engine.analyze(img, { template: true }),
    inFlight: 2 * workers,
    close: () => engine.close(),
  };
}

async function peerSessionContender(intraOpThreads: number): Promise<Contender> {
  const peer = await PeerPipeline.open({ modelsDir: MODELS_DIR, intraOpThreads, flipAverage: PEER_FLIP });
  return {
    name: `peer 1 session intraOp=${intraOpThreads}`,
    analyze: (img) => peer.analyze(img),
    inFlight: 1, // onnxruntime-node's run() occupies the calling thread: more in flight only queue
    close: () => peer.close(),
  };
}

async function peerPoolContender(threads: number): Promise<Contender> {
  const pool = await PeerPool.open(threads, { modelsDir: MODELS_DIR, intraOpThreads: 1, flipAverage: PEER_FLIP });
  return {
    name: `peer ${threads} worker threads x intraOp=1`,
    analyze: (img) => pool.analyze(img),
    inFlight: 2 * threads,
    close: () => pool.close(),
  };
}

/** Opens the contenders, measures them in turns, and closes them whatever happens. */
async function compare(openers: (() => Promise<Contender>)[], image: Buffer, results: Map<string, Throughput>) {
  const contenders: Contender[] = [];
  try {
    for (const open of openers) contenders.push(await open());
    await interleave(contenders, image, results);
  } catch (e) {
    emit({ error: (e as Error).message, contenders: contenders.map((c) => c.name) });
  } finally {
    for (const c of contenders) await c.close();
  }
}

const PIPELINE_STAGES = new Set(['decode', 'detect', 'landmarks', 'template']);

interface CallCost {
  /** sum of the attribute stages in the engine's timings, per face (wall clock) */
  wallMs: number;
  /** process CPU time of the whole call (one worker, one OpenCV thread: that worker's CPU), per face */
  cpuMs: number;
  stages: string[];
}

async function measureCall(engine: Engine, image: Buffer, attributes: AttributeName[]): Promise<CallCost> {
  const cpuStart = process.cpuUsage();
  const r = await engine.analyze(image, { template: false, attributes });
  const cpu = process.cpuUsage(cpuStart);
  const faces = Math.max(1, r.faces.length);
  const stages = Object.entries(r.timings).filter(([stage]) => !PIPELINE_STAGES.has(stage));
  return {
    wallMs: stages.reduce((sum, [, ms]) => sum + ms, 0) / faces,
    cpuMs: (cpu.user + cpu.system) / 1000 / faces,
    stages: stages.map(([stage]) => stage),
  };
}

/** Repeats a call for ATTRIBUTE_SECONDS (at most 50 times) after one warm-up call. */
async function sampleCalls(engine: Engine, image: Buffer, attributes: AttributeName[]): Promise<CallCost[]> {
  await measureCall(engine, image, attributes); // warm-up (first forward allocates)
  const samples: CallCost[] = [];
  const deadline = performance.now() + ATTRIBUTE_SECONDS * 1000;
  while (performance.now() < deadline && samples.length < 50) samples.push(await measureCall(engine, image, attributes));
  return samples;
}

/**
 * Per-face cost of asking for each attribute alone (one worker, one OpenCV thread, one call at a time):
 * the attribute stages the request ran, from the engine's own timings (some attributes need others: quality
 * includes the eye, pose, emotion and mask measures); and, steadier on a busy machine, the median CPU time
 * of the call minus that of the same call without attributes.
 */
async function benchAttributes(image: Buffer): Promise<Record<string, unknown>> {
  const engine = await openOurs(1, 1);
  const wallMs: Record<string, number | string> = {};
  const cpuMs: Record<string, number> = {};
  const alsoRan: Record<string, string[]> = {};
  try {
    const baseline = median((await sampleCalls(engine, image, [])).map((c) => c.cpuMs));
    for (const attribute of ATTRIBUTES) {
      try {
        const samples = await sampleCalls(engine, image, [attribute]);
        if (!samples.every((c) => c.stages.includes(attribute))) throw new Error(`no "${attribute}" entry in timings`);
        const others = samples[0].stages.filter((stage) => stage !== attribute);
        if (others.length > 0) alsoRan[attribute] = others;
        wallMs[attribute] = round(median(samples.map((c) => c.wallMs)), 2);
        cpuMs[attribute] = round(Math.max(0, median(samples.map((c) => c.cpuMs)) - baseline), 2);
      } catch (e) {
        wallMs[attribute] = `error: ${(e as Error).message}`;
      }
    }
  } finally {
    await engine.close();
  }
  return { ...wallMs, cpuMs, alsoRan };
}

/** The photos of the agreement check: the benchmark photo, its source, and the first LFW photos of pairs.tsv. */
function agreementPhotos(benchPhoto: Buffer): [string, Buffer][] {
  const photos: [string, Buffer][] = [['bench-640x480', benchPhoto], [path.basename(args.photo), fs.readFileSync(args.photo)]];
  const facedata = path.resolve(repoRoot, '../shared/facedata');
  const pairs = path.join(facedata, 'pairs.tsv');
  if (!fs.existsSync(pairs)) return photos;
  const lfw = fs.readFileSync(pairs, 'utf8').split('\n').slice(1)
    .flatMap((line) => line.split('\t').slice(0, 2))
    .filter((rel) => rel.startsWith('lfw/'));
  for (const rel of [...new Set(lfw)].slice(0, AGREEMENT_LFW_PHOTOS)) {
    photos.push([rel, fs.readFileSync(path.join(facedata, rel))]);
  }
  return photos;
}

/**
 * Cosine between our embedding and the peer's for the same face (our biggest face and the peer face that
 * overlaps it most) on a few real photos: the peer must compute what we compute. Our detector also runs a
 * finer pyramid level on frames above ~666x500, where the boxes, and so the crops, may differ slightly.
 */
async function checkAgreement(benchPhoto: Buffer): Promise<Record<string, unknown>> {
  const photos = agreementPhotos(benchPhoto);
  const engine = await openOurs(1);
  const peer = await PeerPipeline.open({ modelsDir: MODELS_DIR, intraOpThreads: 1, flipAverage: PEER_FLIP });
  const cosines: Record<string, number> = {};
  try {
    for (const [name, photo] of photos) {
      const ours = (await engine.analyze(photo, { template: true })).faces[0];
      const theirs: PeerResult = await peer.analyze(photo);
      if (!ours?.embedding) continue;
      const match = theirs.faces.find((f) => boxIou(f.box, ours.box) > 0.5);
      if (match) cosines[name] = round(dot(ours.embedding, match.embedding), 4);
    }
  } finally {
    await engine.close();
    await peer.close();
  }
  const values = Object.values(cosines);
  return { photos: photos.length, compared: values.length, minCosine: Math.min(...values), cosines };
}

function boxIou(p: Box, q: Box): number {
  const w = Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x);
  const h = Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (p.width * p.height + q.width * q.height - w * h);
}

async function main(): Promise<void> {
  const image = await makeBenchPhoto(args.photo);
  const meta = await sharp(image).metadata();
  const checker = await PeerPipeline.open({ modelsDir: MODELS_DIR, intraOpThreads: 1 });
  const peerCheck = await checker.analyze(image);
  await checker.close();
  emit({ photo: path.basename(args.photo), width: meta.width, height: meta.height, bytes: image.length,
    facesFoundByPeer: peerCheck.faces.length, secondsPerConfig: SECONDS, rounds: ROUNDS, sliceWarmupSeconds: SLICE_WARMUP_SECONDS, peerFlipAverage: PEER_FLIP,
    cpus: os.cpus().length, loadAverage1m: round(os.loadavg()[0], 2) });

  const results = new Map<string, Throughput>();
  // One image at a time on one thread: one worker with one OpenCV thread against one single-threaded session.
  await compare([() => oursContender(image, 1, 1), () => peerSessionContender(1)], image, results);
  // One image at a time on two threads: one worker (the engine's default: OpenCV gets both cores) against one
  // session with 2 intra-op threads.
  await compare([() => oursContender(image, 1), () => peerSessionContender(2)], image, results);
  // Two images at a time: our two workers (one OpenCV thread each) against two worker threads with a session each.
  await compare([() => oursContender(image, 2), () => peerPoolContender(2)], image, results);

  let attributesMsPerFace: Record<string, unknown>;
  try {
    attributesMsPerFace = await benchAttributes(image);
  } catch (e) {
    attributesMsPerFace = { error: (e as Error).message };
  }
  emit({ config: 'ours attributes, ms per face (median wall; cpuMs: CPU over a call without attributes), workers=1 opencvThreads=1', ...attributesMsPerFace });

  let agreement: Record<string, unknown>;
  try {
    agreement = await checkAgreement(image);
  } catch (e) {
    agreement = { error: (e as Error).message };
  }
  emit({ config: 'embedding agreement ours vs peer (cosine)', ...agreement });
  // The comparison is only meaningful if both compute the same thing: fail the run otherwise.
  if (!(typeof agreement.minCosine === 'number' && agreement.minCosine >= MIN_AGREEMENT)) {
    console.error(`pipeline benchmark: ours and the peer disagree (min cosine below ${MIN_AGREEMENT}): see the line above`);
    process.exitCode = 1;
  }

  const ips = (name: string) => results.get(name)?.imagesPerSecond;
  const cpu = (name: string) => results.get(name)?.cpuMsPerImage;
  const pairs: [string, string, string][] = [
    ['1 thread, one image at a time', 'ours workers=1 opencvThreads=1', 'peer 1 session intraOp=1'],
    ['2 threads, one image at a time', 'ours workers=1', 'peer 1 session intraOp=2'],
    ['2 threads, two images at a time', 'ours workers=2', 'peer 2 worker threads x intraOp=1'],
  ];
  // Where the time goes on one thread (10th percentile per stage: least disturbed by other load).
  emit({
    config: 'stage p10 ms, 1 thread, one image at a time',
    ours: results.get(pairs[0][1])?.stageP10Ms ?? null,
    peer: results.get(pairs[0][2])?.stageP10Ms ?? null,
  });
  const best = (names: string[]) => Math.max(0, ...names.map((n) => ips(n) ?? 0)) || undefined;
  emit({
    summary: 'images/s, detect + landmarks + template (flip-averaged), 640x480 one face; ratio > 1 = ours faster',
    loadAverage1m: round(os.loadavg()[0], 2),
    ...Object.fromEntries(pairs.map(([label, ours, peer]) => [label, {
      ours: ips(ours) ?? null,
      peer: ips(peer) ?? null,
      ratio: ratio(ips(ours), ips(peer)),
      // CPU time per image (all threads): less disturbed by other load; ratio > 1 = ours needs less CPU
      cpuMsPerImage: { ours: cpu(ours) ?? null, peer: cpu(peer) ?? null, ratio: ratio(cpu(peer), cpu(ours)) },
    }])),
    ratioBestOursBestPeer: ratio(best(pairs.map((p) => p[1])), best(pairs.map((p) => p[2]))),
  });
}

function ratio(ours: number | undefined, peer: number | undefined): number | null {
  return ours && peer ? round(ours / peer, 2) : null;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((p, r) => p - r);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
