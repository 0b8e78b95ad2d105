// The onnxruntime-node side of opencv_profile.cpp: forward latency per model at 1 and 2 intra-op threads, with
// the process CPU time per forward (cpuMs), which other load on a shared machine disturbs much less than wall
// time. One JSON line per measurement.
//   node --import tsx benchmarks/peer/ort_profile.ts [modelsDir] [runs]

import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const MODELS: [string, number[]][] = [
  ['fr_detect', [1, 3, 240, 320]], ['fr_landmark', [1, 1, 64, 64]], ['fr_feature', [1, 3, 112, 112]],
  ['fr_liveness', [1, 3, 128, 128]], ['fr_gender', [1, 3, 64, 64]], ['fr_age', [1, 3, 64, 64]],
  ['fr_expression', [1, 3, 224, 224]], ['fr_eye', [1, 1, 24, 24]], ['fr_pose', [1, 3, 224, 224]],
];

const modelsDir = process.argv[2] ?? 'models';
const runs = Math.max(5, Number(process.argv[3] ?? 40));

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

for (const [name, shape] of MODELS) {
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(path.join(modelsDir, `${name}.onnx`), {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      logSeverityLevel: 3, // the SSR-Net graphs list their weights as inputs: one warning per weight otherwise
      extra: { session: { intra_op: { allow_spinning: '0' } } }, // as in peer_pipeline.ts
    });
    const size = shape.reduce((a, b) => a * b, 1);
    const input = new ort.Tensor('float32', Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 0.5), shape);
    for (let i = 0; i < 3; i++) await session.run({ input });
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await session.run({ input });
      wall.push(performance.now() - t);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
    }
    const r = (x: number) => Math.round(x * 1000) / 1000;
    console.log(JSON.stringify({ engine: 'onnxruntime', model: name, threads, medianMs: r(median(wall)),
      minMs: r(Math.min(...wall)), cpuMs: r(median(cpu)) }));
    await session.release();
  }
}
