// npm run bench:findface [-- --data ../shared/facedata --models models]
//
// FindFace's confidence presets measured on our labelled pairs: every photo of ../shared/facedata embedded as an
// enrolment would embed it (the engine, the dominant face), every same-identity pair (genuine) and every
// cross-identity pair (impostor) scored, and for strict / medium / low, the default 0.75 and
// FINDFACE_PERSON_THRESHOLD's default: the cosine the confidence scale puts there (src/dialects/findface/
// confidence.ts), how many impostor pairs it accepts (the measured FAR, with NtechLab's documented one beside
// it) and how many genuine pairs it rejects (FRR). One JSON line per threshold, then a Markdown table for the
// README. Results: benchmarks/RESULTS.md ("FindFace confidence presets").
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCalibration } from '../src/domain/calibration';
import { confidenceScale, DEFAULT_THRESHOLD, PRESET_FAR, PRESETS } from '../src/dialects/findface/confidence';
import { embedAsEnrolment, openEngine, readLabelledPhotos, REPO_ROOT, scoreAllPairs } from '../tools/calibration-pairs';
import { lowerBound } from '../tools/calibrate';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO_ROOT, '../shared/facedata') },
    models: { type: 'string', default: path.join(REPO_ROOT, 'models') },
  },
});

/** How many of the ascending values are >= x. */
const atOrAbove = (xs: Float64Array, x: number): number => xs.length - lowerBound(xs, x);

const started = performance.now();
const { photos } = readLabelledPhotos(args.data!);
const engine = await openEngine(args.models!, 2);
let scores;
try {
  scores = scoreAllPairs(photos, (await embedAsEnrolment(engine, args.data!, photos.map((p) => p.path))).embeddings);
} finally {
  await engine.close();
}
const scale = confidenceScale(loadCalibration());
const rows = [
  ...(['strict', 'medium', 'low'] as const).map((p) => ({ name: p, confidence: PRESETS[p], documentedFar: PRESET_FAR[p] as number | null })),
  { name: 'default', confidence: DEFAULT_THRESHOLD, documentedFar: null },
];
const table: string[] = ['| threshold | confidence | cosine | impostor pairs accepted | FAR measured | FAR documented | genuine pairs rejected | FRR |', '|---|---|---|---|---|---|---|---|'];
for (const r of rows) {
  const cosine = scale.cosine(r.confidence);
  const accepted = atOrAbove(scores.impostor, cosine);
  const rejected = scores.genuine.length - atOrAbove(scores.genuine, cosine);
  const far = accepted / scores.impostor.length;
  const frr = rejected / scores.genuine.length;
  console.log(JSON.stringify({ threshold: r.name, confidence: r.confidence, cosine: +cosine.toFixed(4), impostorAccepted: accepted, impostorPairs: scores.impostor.length, far, documentedFar: r.documentedFar, genuineRejected: rejected, genuinePairs: scores.genuine.length, frr }));
  table.push(
    `| ${r.name} | ${r.confidence} | ${cosine.toFixed(4)} | ${accepted} of ${scores.impostor.length} | ${far.toExponential(2)} | ${r.documentedFar === null ? '-' : r.documentedFar.toExponential(0)} | ${rejected} of ${scores.genuine.length} | ${(frr * 100).toFixed(2)}% |`,
  );
}
console.log(JSON.stringify({ photos: scores.photos, identities: scores.identities, seconds: Math.round((performance.now() - started) / 1000) }));
console.log(table.join('\n'));
