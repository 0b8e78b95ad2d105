// Verification accuracy of the peer pipeline on a pairs.tsv (../shared/facedata layout), with and without flip
// averaging: what the second fr_feature forward buys. One JSON line per (flip, subset).
//   node --import tsx benchmarks/peer/verify_pairs.ts [--data DIR] [--subset lfw_view2_fold01]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PeerPipeline } from './peer_pipeline.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(import.meta.dirname, '../../../shared/facedata') },
    subset: { type: 'string' }, // default: every subset in the file
    models: { type: 'string', default: path.resolve(import.meta.dirname, '../../models') },
  },
});

interface Pair { path1: string; path2: string; same: boolean; subset: string }

function readPairs(file: string): Pair[] {
  const [header, ...rows] = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const col = (name: string) => header.indexOf(name);
  return rows.map((r) => ({ path1: r[col('path1')], path2: r[col('path2')], same: r[col('same')] === '1', subset: r[col('subset')] }));
}

/** Best accuracy over all thresholds, with that threshold, and the ROC AUC. */
function score(sims: { cosine: number; same: boolean }[]) {
  let bestAccuracy = 0;
  let threshold = 0;
  for (const t of new Set(sims.map((s) => s.cosine))) {
    const correct = sims.filter((s) => (s.cosine >= t) === s.same).length / sims.length;
    if (correct > bestAccuracy) [bestAccuracy, threshold] = [correct, t];
  }
  const pos = sims.filter((s) => s.same).map((s) => s.cosine);
  const neg = sims.filter((s) => !s.same).map((s) => s.cosine);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return { bestAccuracy: round(bestAccuracy), threshold: round(threshold), auc: round(wins / (pos.length * neg.length)) };
}

function round(v: number): number {
  return Math.round(v * 1e5) / 1e5;
}

const pairs = readPairs(path.join(args.data, 'pairs.tsv')).filter((p) => !args.subset || p.subset === args.subset);
for (const flipAverage of [false, true]) {
  const peer = await PeerPipeline.open({ modelsDir: args.models, intraOpThreads: 1, flipAverage });
  const embeddings = new Map<string, Float32Array | undefined>();
  const embed = async (rel: string) => {
    if (!embeddings.has(rel)) embeddings.set(rel, (await peer.analyze(fs.readFileSync(path.join(args.data, rel)))).faces[0]?.embedding);
    return embeddings.get(rel);
  };
  for (const subset of [...new Set(pairs.map((p) => p.subset))]) {
    const sims: { cosine: number; same: boolean }[] = [];
    let missed = 0;
    for (const pair of pairs.filter((p) => p.subset === subset)) {
      const [a, b] = [await embed(pair.path1), await embed(pair.path2)];
      if (!a || !b) {
        missed++;
        continue;
      }
      let cosine = 0;
      for (let i = 0; i < a.length; i++) cosine += a[i] * b[i];
      sims.push({ cosine, same: pair.same });
    }
    console.log(JSON.stringify({ flipAverage, subset, pairs: sims.length, missed, ...score(sims) }));
  }
  await peer.close();
}
