// Fits CompreFace's similarity mapping (tanh((c0 - d) * c1) + 1) / 2 for our embedding model on a folder laid
// out like ../shared/facedata (pairs.tsv: path1, path2, same). d is the Euclidean distance of the two
// L2-normalised embeddings of each photo's biggest face.
//   c0: the distance at the equal-error point (false accept rate = false reject rate), so 0.5 sits there;
//   c1: the slope, by maximum likelihood of the same/different labels under that logistic (c0 held fixed).
// Usage: node --import tsx tools/fit-similarity.ts [--data ../shared/facedata] [--embedder engine|peer]
// Prints one JSON line; paste c0/c1 into src/domain/similarity.ts.
import fs from 'node:fs';
import path from 'node:path';

interface Args {
  data: string;
  embedder: 'engine' | 'peer';
  models: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { data: '../shared/facedata', embedder: 'engine', models: 'models' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--data') args.data = v;
    else if (k === '--embedder' && (v === 'engine' || v === 'peer')) args.embedder = v;
    else if (k === '--models') args.models = v;
    else throw new Error(`unknown argument ${k}`);
  }
  return args;
}

type Embed = (image: Buffer) => Promise<Float32Array | undefined>;

/** The product's engine; the onnxruntime peer (same models, same pre-processing) as a stand-in. */
async function openEmbedder(kind: Args['embedder'], modelsDir: string): Promise<{ embed: Embed; close(): Promise<void> }> {
  if (kind === 'peer') {
    const { PeerPipeline } = await import('../benchmarks/peer/peer_pipeline');
    const peer = await PeerPipeline.open({ modelsDir, intraOpThreads: 2 });
    return { embed: async (img) => (await peer.analyze(img)).faces[0]?.embedding, close: () => peer.close() };
  }
  const { Engine } = await import('../src/engine/engine');
  const engine = await Engine.open({ modelsDir, workers: 2 });
  return {
    embed: async (img) => {
      try {
        return (await engine.analyze(img, { detectFaces: true, maxFaces: 1, template: true })).faces[0]?.embedding;
      } catch {
        return undefined; // unreadable or unsupported photo: the pair is left out
      }
    },
    close: async () => engine.close(),
  };
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return v.map((x) => x / n);
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** The threshold where the false reject rate (same pairs above it) meets the false accept rate (different below). */
export function equalErrorDistance(same: number[], diff: number[]): { threshold: number; eer: number } {
  const s = [...same].sort((a, b) => a - b);
  const d = [...diff].sort((a, b) => a - b);
  const candidates = [...s, ...d].sort((a, b) => a - b);
  let best = { threshold: candidates[0], eer: 1, gap: Infinity };
  let sameAtOrBelow = 0;
  let diffAtOrBelow = 0;
  // Sweep thresholds upward between consecutive distances, counting with two pointers.
  for (let i = 0; i + 1 < candidates.length; i++) {
    const t = (candidates[i] + candidates[i + 1]) / 2;
    while (sameAtOrBelow < s.length && s[sameAtOrBelow] <= t) sameAtOrBelow++;
    while (diffAtOrBelow < d.length && d[diffAtOrBelow] <= t) diffAtOrBelow++;
    const frr = (s.length - sameAtOrBelow) / s.length;
    const far = diffAtOrBelow / d.length;
    const gap = Math.abs(frr - far);
    if (gap < best.gap) best = { threshold: t, eer: (frr + far) / 2, gap };
  }
  return { threshold: best.threshold, eer: best.eer };
}

/** Maximum-likelihood slope c1 of p(same) = (tanh(c1 (c0 - d)) + 1) / 2, by Newton steps on the log-likelihood. */
export function fitSlope(same: number[], diff: number[], c0: number): number {
  const samples = [...same.map((d) => ({ x: c0 - d, y: 1 })), ...diff.map((d) => ({ x: c0 - d, y: 0 }))];
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const lines = fs.readFileSync(path.join(args.data, 'pairs.tsv'), 'utf8').trim().split('\n').slice(1);
  const pairs = lines
    .map((l) => l.split('\t'))
    .filter((f) => f[4] !== 'official_label_wrong_per_LFW_errata')
    .map((f) => ({ a: f[0], b: f[1], same: f[2] === '1' }));
  const embedder = await openEmbedder(args.embedder, args.models);
  const cache = new Map<string, Float32Array | undefined>();
  const embedding = async (p: string) => {
    if (!cache.has(p)) {
      const e = await embedder.embed(fs.readFileSync(path.join(args.data, p)));
      cache.set(p, e && unit(e));
    }
    return cache.get(p);
  };
  const same: number[] = [];
  const diff: number[] = [];
  let skipped = 0;
  for (const pair of pairs) {
    const [ea, eb] = [await embedding(pair.a), await embedding(pair.b)];
    if (!ea || !eb) {
      skipped++;
      continue;
    }
    (pair.same ? same : diff).push(distance(ea, eb));
  }
  await embedder.close();
  const { threshold: c0, eer } = equalErrorDistance(same, diff);
  const c1 = fitSlope(same, diff, c0);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  console.log(
    JSON.stringify({
      embedder: args.embedder,
      pairs: { same: same.length, different: diff.length, skipped },
      c0: Number(c0.toFixed(4)),
      c1: Number(c1.toFixed(4)),
      eer: Number(eer.toFixed(4)),
      meanDistance: { same: Number(mean(same).toFixed(4)), different: Number(mean(diff).toFixed(4)) },
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
