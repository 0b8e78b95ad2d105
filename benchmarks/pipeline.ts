// npm run bench:pipeline [-- --seconds S --warmup S --photo FILE --models DIR]
//
// Images per second for detect + landmarks + template on a 640x480 one-face photo: our engine with 1 and 2
// workers, and the same pipeline as a plain Node program over onnxruntime-node (benchmarks/peer/) with 1 and
// 2 threads; the ratio ours/peer; per-attribute cost per face from our engine's timings; and a check that both
// pipelines give the same embeddings. One JSON line per configuration, then a summary line.
// Every configuration is bounded: a warm-up, then a fixed wall-clock window.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PeerPipeline, type PeerResult } from './peer/peer_pipeline.js';
import { PeerPool } from './peer/peer_pool.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
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
const WARMUP_SECONDS = Number(args.warmup);
const ATTRIBUTE_SECONDS = Number(args['attribute-seconds']);
const MODELS_DIR = args.models;
const PEER_FLIP = args['peer-flip'];
const ATTRIBUTES = ['age', 'gender', 'emotion', 'liveness', 'eyes', 'mouth', 'pose', 'quality', 'mask'];
/** Photos for the embedding agreement check (besides the benchmark photo). */
const AGREEMENT_PHOTOS = [
  'web/face_recognition/barack_obama/obama2.jpg',
  'web/face_recognition/kit_harington/john1.jpeg',
  'web/deepface/img14.jpg',
  'lfw/Colin_Powell/Colin_Powell_0001.jpg',
  'utkface',
];

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

/** Keeps `inFlight` calls running for the warm-up, then counts completions over a fixed window. */
async function measureThroughput(analyze: Analyze, image: Buffer, inFlight: number): Promise<Throughput> {
  const stages = new Map<string, number[]>();
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  let images = 0;

  const loop = async () => {
    while (phase !== 'done') {
      const result = await analyze(image);
      if (phase !== 'measure') continue;
      images++;
      for (const [stage, ms] of Object.entries(result.timings)) {
        if (!stages.has(stage)) stages.set(stage, []);
        stages.get(stage)!.push(ms);
      }
    }
  };
  const runners = Array.from({ length: inFlight }, loop);
  await sleep(WARMUP_SECONDS * 1000);
  phase = 'measure';
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await sleep(SECONDS * 1000);
  phase = 'done';
  const ended = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  await Promise.all(runners);

  const seconds = (ended - started) / 1000;
  const stageMedianMs: Record<string, number> = {};
  for (const [stage, values] of stages) stageMedianMs[stage] = round(median(values), 2);
  return {
    images,
    seconds: round(seconds, 2),
    imagesPerSecond: round(images / seconds, 1),
    cpuMsPerImage: round((cpu.user + cpu.system) / 1000 / Math.max(1, images), 2),
    stageMedianMs,
  };
}

/** Our engine, loaded lazily so that the peer half of the benchmark runs even where the addon is missing. */
interface OurEngine {
  analyze(image: Buffer, options: Record<string, unknown>): Promise<{
    faces: { embedding?: Float32Array }[];
    timings: Record<string, number>;
  }>;
  close(): Promise<void>;
}

async function openOurs(workers: number): Promise<OurEngine> {
  const { Engine } = await import('../src/engine/engine.js');
  return (await Engine.open({ modelsDir: MODELS_DIR, workers })) as unknown as OurEngine;
}

async function benchOurs(image: Buffer, workers: number): Promise<Throughput> {
  const engine = await openOurs(workers);
  try {
    const analyze: Analyze = (img) => engine.analyze(img, { template: true });
    const first = await engine.analyze(image, { template: true });
    if (first.faces.length !== 1 || !first.faces[0].embedding) throw new Error(`ours found ${first.faces.length} faces on the benchmark photo`);
    // two calls per worker keep every worker busy while results travel back
    return await measureThroughput(analyze, image, 2 * workers);
  } finally {
    await engine.close();
  }
}

async function benchPeerInline(image: Buffer, intraOpThreads: number): Promise<Throughput> {
  const peer = await PeerPipeline.open({ modelsDir: MODELS_DIR, intraOpThreads, flipAverage: PEER_FLIP });
  try {
    return await measureThroughput((img) => peer.analyze(img), image, 1);
  } finally {
    await peer.close();
  }
}

async function benchPeerPool(image: Buffer, threads: number): Promise<Throughput> {
  const pool = await PeerPool.open(threads, { modelsDir: MODELS_DIR, intraOpThreads: 1, flipAverage: PEER_FLIP });
  try {
    return await measureThroughput((img) => pool.analyze(img), image, 2 * threads);
  } finally {
    await pool.close();
  }
}

/** Per-face cost of each attribute from our engine's own timings, one worker, one call at a time. */
async function benchAttributes(image: Buffer): Promise<Record<string, number | string>> {
  const engine = await openOurs(1);
  const costs: Record<string, number | string> = {};
  try {
    for (const attribute of ATTRIBUTES) {
      const samples: number[] = [];
      const options = { template: false, attributes: [attribute] };
      try {
        await engine.analyze(image, options); // warm-up (first forward allocates)
        const deadline = performance.now() + ATTRIBUTE_SECONDS * 1000;
        while (performance.now() < deadline && samples.length < 50) {
          const r = await engine.analyze(image, options);
          const ms = r.timings[attribute];
          if (typeof ms !== 'number') throw new Error(`no "${attribute}" entry in timings`);
          samples.push(ms / Math.max(1, r.faces.length));
        }
        costs[attribute] = round(median(samples), 2);
      } catch (e) {
        costs[attribute] = `error: ${(e as Error).message}`;
      }
    }
  } finally {
    await engine.close();
  }
  return costs;
}

/** Cosine between our embedding and the peer's on a few real photos: the peer must compute the same thing. */
async function checkAgreement(benchPhoto: Buffer): Promise<Record<string, unknown>> {
  const facedata = path.resolve(repoRoot, '../shared/facedata');
  const photos: [string, Buffer][] = [['bench-640x480', benchPhoto]];
  for (const rel of AGREEMENT_PHOTOS) {
    const full = path.join(facedata, rel);
    if (!fs.existsSync(full)) continue;
    const file = fs.statSync(full).isDirectory() ? path.join(full, fs.readdirSync(full).sort()[0]) : full;
    photos.push([path.relative(facedata, file), fs.readFileSync(file)]);
  }
  const engine = await openOurs(1);
  const peer = await PeerPipeline.open({ modelsDir: MODELS_DIR, intraOpThreads: 1, flipAverage: PEER_FLIP });
  const cosines: number[] = [];
  try {
    for (const [, photo] of photos) {
      const ours = await engine.analyze(photo, { template: true });
      const theirs: PeerResult = await peer.analyze(photo);
      const a = ours.faces[0]?.embedding;
      const b = theirs.faces[0]?.embedding;
      if (a && b) cosines.push(round(dot(a, b), 4));
    }
  } finally {
    await engine.close();
    await peer.close();
  }
  return { photos: photos.length, compared: cosines.length, cosines, minCosine: Math.min(...cosines) };
}

async function main(): Promise<void> {
  const image = await makeBenchPhoto(args.photo);
  const meta = await sharp(image).metadata();
  const checker = await PeerPipeline.open({ modelsDir: MODELS_DIR, intraOpThreads: 1 });
  const peerCheck = await checker.analyze(image);
  await checker.close();
  emit({ photo: path.basename(args.photo), width: meta.width, height: meta.height, bytes: image.length,
    facesFoundByPeer: peerCheck.faces.length, secondsPerConfig: SECONDS, warmupSeconds: WARMUP_SECONDS, peerFlipAverage: PEER_FLIP,
    cpus: os.cpus().length, loadAverage1m: round(os.loadavg()[0], 2) });

  const results: Record<string, number> = {};
  const cpuMs: Record<string, number> = {};
  const run = async (config: string, bench: () => Promise<Throughput>) => {
    try {
      const t = await bench();
      results[config] = t.imagesPerSecond;
      cpuMs[config] = t.cpuMsPerImage;
      emit({ config, ...t });
    } catch (e) {
      emit({ config, error: (e as Error).message });
    }
  };
  await run('ours workers=1', () => benchOurs(image, 1));
  await run('ours workers=2', () => benchOurs(image, 2));
  await run('peer onnxruntime intraOp=1', () => benchPeerInline(image, 1));
  await run('peer onnxruntime intraOp=2', () => benchPeerInline(image, 2));
  await run('peer onnxruntime 2 worker threads x intraOp=1', () => benchPeerPool(image, 2));

  let attributesMsPerFace: Record<string, number | string> | { error: string };
  try {
    attributesMsPerFace = await benchAttributes(image);
  } catch (e) {
    attributesMsPerFace = { error: (e as Error).message };
  }
  emit({ config: 'ours attributes, ms per face (median, workers=1)', ...attributesMsPerFace });

  let agreement: Record<string, unknown>;
  try {
    agreement = await checkAgreement(image);
  } catch (e) {
    agreement = { error: (e as Error).message };
  }
  emit({ config: 'embedding agreement ours vs peer (cosine)', ...agreement });

  const peer1 = results['peer onnxruntime intraOp=1'];
  const peer2 = Math.max(results['peer onnxruntime intraOp=2'] ?? 0, results['peer onnxruntime 2 worker threads x intraOp=1'] ?? 0);
  emit({
    loadAverage1m: round(os.loadavg()[0], 2),
    summary: 'images/s, detect + landmarks + template, 640x480 one face',
    ours1: results['ours workers=1'] ?? null,
    ours2: results['ours workers=2'] ?? null,
    peer1: peer1 ?? null,
    peer2: peer2 || null,
    ratioOursPeer1Thread: ratio(results['ours workers=1'], peer1),
    ratioOursPeer2Threads: ratio(results['ours workers=2'], peer2),
    // CPU time per image, 1 worker / 1 thread each: peer/ours > 1 means ours does the work with less CPU
    cpuMsPerImageOurs1: cpuMs['ours workers=1'] ?? null,
    cpuMsPerImagePeer1: cpuMs['peer onnxruntime intraOp=1'] ?? null,
    cpuRatioPeerOurs1Thread: ratio(cpuMs['peer onnxruntime intraOp=1'], cpuMs['ours workers=1']),
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

function median(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
