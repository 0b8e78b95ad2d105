// `npm run bench:imageapi`: what the Image API dialect costs on top of the engine. Each service is called over
// loopback HTTP, one request at a time, on LFW photos from ../shared/facedata, next to the engine's own analyze
// with the same options on the same photos in the same run: the difference is HTTP, base64, JSON, the sample's
// validation and the matching of objects to faces. Also the chained flows of the document (fitter -> quality;
// fitter -> template-extractor -> verify-matcher) end to end. Prints one JSON line per row, then a table.
//
//   npm run bench:imageapi -- [--photos 10] [--rounds 3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config';
import type { AttributeName } from '../src/domain/types';
import { startServer } from '../src/server';

const FACEDATA = path.resolve(import.meta.dirname, '../../shared/facedata');
const { values: args } = parseArgs({ options: { photos: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
const PHOTOS = Number(args.photos);
const ROUNDS = Number(args.rounds);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const photos = fs
  .readFileSync(path.join(FACEDATA, 'identification.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .filter((f) => f[2] === 'lfw' && f[3] === 'gallery')
  .slice(0, PHOTOS)
  .map((f) => fs.readFileSync(path.join(FACEDATA, f[0])));

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-imageapi-'));
const server = await startServer(
  loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, MODELS_DIR: path.resolve(import.meta.dirname, '../models'), LOG_LEVEL: 'warn' }),
  pino({ level: 'silent' }),
);
try {
  const { key } = await server.services.keys.create('imageapi');
  const headers = { authorization: `Bearer ${key}` };
  const post = async (p: string, body: BodyInit, extra: Record<string, string> = {}): Promise<Json> => {
    const res = await fetch(`${server.url}${p}`, { method: 'POST', body, headers: { ...headers, ...extra } });
    const out = await res.json();
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${JSON.stringify(out).slice(0, 200)}`);
    return out;
  };
  const image = (service: string, bytes: Buffer) => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(bytes)]), 'photo.jpg');
    return post(`/${service}/process/image`, form);
  };
  const sample = (service: string, body: unknown) => post(`/${service}/process/sample`, JSON.stringify(body), { 'content-type': 'application/json' });

  // Inputs for the sample services: each photo's fitter output and template.
  const fitted = await Promise.all(photos.map((p) => image('face-detector-face-fitter', p)));
  const templates = await Promise.all(photos.map(async (p) => (await image('face-detector-template-extractor', p)).objects[0]));

  interface Row {
    name: string;
    run: (i: number) => Promise<unknown>;
    /** The engine's analyze with the same options, for comparison. */
    engine?: { attributes: AttributeName[]; template: boolean };
  }
  const rows: Row[] = [
    { name: 'face-detector-face-fitter (multipart)', run: (i) => image('face-detector-face-fitter', photos[i]), engine: { attributes: ['pose'], template: false } },
    { name: 'age-estimator (sample, fitter objects)', run: (i) => sample('age-estimator', { $image: fitted[i].$image, objects: fitted[i].objects }), engine: { attributes: ['age'], template: false } },
    { name: 'quality-assessment-estimator (sample)', run: (i) => sample('quality-assessment-estimator', { $image: fitted[i].$image, objects: fitted[i].objects }), engine: { attributes: ['quality'], template: false } },
    { name: 'face-detector-template-extractor (multipart)', run: (i) => image('face-detector-template-extractor', photos[i]), engine: { attributes: [], template: true } },
    { name: 'verify-matcher (two v1 templates)', run: (i) => sample('verify-matcher', { objects: [templates[i], templates[(i + 1) % photos.length]] }) },
    {
      name: 'chain: fitter -> template-extractor -> verify-matcher',
      run: async (i) => {
        const f = await image('face-detector-face-fitter', photos[i]);
        const t = await sample('template-extractor', { $image: f.$image, objects: f.objects });
        return sample('verify-matcher', { objects: [t.objects[0], templates[(i + 1) % photos.length]] });
      },
    },
  ];

  const results: { name: string; p50: number; p90: number; engineP50?: number }[] = [];
  for (const row of rows) {
    const http: number[] = [];
    const engine: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < photos.length; i++) {
        let t = performance.now();
        await row.run(i);
        http.push(performance.now() - t);
        if (row.engine) {
          t = performance.now();
          await server.engine.analyze(photos[i], { detectFaces: true, template: row.engine.template, attributes: row.engine.attributes });
          engine.push(performance.now() - t);
        }
      }
    }
    const line = { name: row.name, n: http.length, p50: quantile(http, 0.5), p90: quantile(http, 0.9), ...(engine.length ? { engineP50: quantile(engine, 0.5) } : {}) };
    console.log(JSON.stringify(line));
    results.push(line);
  }
  console.log('\n| request | p50 ms | p90 ms | engine analyze p50 ms |\n|---|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${r.p50.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.engineP50 === undefined ? '' : r.engineP50.toFixed(1)} |`);
  console.log(`\n${photos.length} LFW photos x ${ROUNDS} rounds, sequential; load average ${os.loadavg()[0].toFixed(1)}`);
} finally {
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
