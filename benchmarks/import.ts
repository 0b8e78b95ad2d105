// `npm run bench:import`: `faceserver import` of a folder of real photos through a running server, timed.
//
//   npm run bench:import -- [--photos 1000] [--parallel N]
//   DATABASE_URL=postgres://.../fresh_db npm run bench:import     (PostgreSQL instead of the embedded store)
//
// The folder holds links to ../shared/facedata photos, one sub-folder per person: every LFW photo (938, 485
// people), then UTKFace photos (one person each) up to --photos. The server runs in this process with its
// default settings (WORKERS = cores); the command runs here too, as a user would beside the server, through the
// admin API. Then: the same import again (everything skipped: the resume path), an export of the collection
// (templates, no photos), and the export imported into a fresh embedded data folder with no server running.
// Prints one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { main as cli } from '../src/cli/main';
import { loadConfig } from '../src/config';
import { startServer } from '../src/server';

const FACEDATA = path.resolve(import.meta.dirname, '../../shared/facedata');

function args(argv: string[]): { photos: number; parallel?: number } {
  const a: { photos: number; parallel?: number } = { photos: 1000 };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--photos') a.photos = Number(argv[i + 1]);
    else if (argv[i] === '--parallel') a.parallel = Number(argv[i + 1]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return a;
}

/** Links to n facedata photos, one sub-folder per person. */
function photoFolder(dir: string, n: number): number {
  let count = 0;
  const link = (file: string, person: string) => {
    fs.mkdirSync(path.join(dir, person), { recursive: true });
    fs.symlinkSync(file, path.join(dir, person, path.basename(file)));
    count++;
  };
  for (const person of fs.readdirSync(path.join(FACEDATA, 'lfw')).sort()) {
    for (const f of fs.readdirSync(path.join(FACEDATA, 'lfw', person)).sort()) {
      if (count < n) link(path.join(FACEDATA, 'lfw', person, f), person);
    }
  }
  for (const f of fs.readdirSync(path.join(FACEDATA, 'utkface')).sort()) {
    if (count < n) link(path.join(FACEDATA, 'utkface', f), `utkface-${path.parse(f).name}`);
  }
  if (count < n) throw new Error(`only ${count} photos available`);
  return count;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

async function timed(argv: string[], env: Record<string, string>): Promise<{ seconds: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const t0 = performance.now();
  const code = await cli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`faceserver ${argv.join(' ')} exited ${code}: ${[...out, ...err].join('\n')}`);
  return { seconds, out, err };
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-import-'));
  try {
    const photos = path.join(work, 'photos');
    const n = photoFolder(photos, a.photos);
    const dataDir = path.join(work, 'data');
    const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) };
    const config = loadConfig({ ...process.env, ...env, HOST: '127.0.0.1', PORT: '0' });
    const server = await startServer(config, pino({ level: 'silent' }));
    let first, again, exported;
    const report = path.join(work, 'report.json');
    const parallel = a.parallel ? ['--parallel', String(a.parallel)] : [];
    try {
      first = await timed(['import', photos, '--collection', 'bench', '--report', report, ...parallel], env);
      again = await timed(['import', photos, '--collection', 'bench', ...parallel], env);
      exported = await timed(['export', path.join(work, 'export'), '--collection', 'bench'], env);
    } finally {
      await server.close();
    }
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { seconds: number; photosPerSecond: number; counts: Record<string, number> };
    const fresh = { DATA_DIR: path.join(work, 'fresh'), LOG_LEVEL: 'warn' };
    const reimport = await timed(['import', path.join(work, 'export'), '--collection', 'bench'], fresh);
    const faces = r.counts.enrolled ?? 0;
    // The command's own figure: the import itself, without creating and migrating the fresh store.
    const importSeconds = Number(/faces in ([\d.]+) s/.exec(reimport.out.join('\n'))?.[1]);
    console.log(
      JSON.stringify({
        store: config.databaseUrl ? 'postgres' : 'embedded',
        photos: n,
        workers: config.workers,
        parallel: a.parallel ?? config.workers * 2,
        import: { seconds: round(r.seconds, 1), photosPerSecond: round(r.photosPerSecond), outcomes: r.counts, commandSeconds: round(first.seconds, 1) },
        resumeSeconds: round(again.seconds, 1),
        exportSeconds: round(exported.seconds, 1),
        reimport: { faces, seconds: importSeconds, facesPerSecond: round(faces / importSeconds, 1), commandSeconds: round(reimport.seconds, 1), store: 'embedded, no server (the command opens it)' },
        loadAverage: os.loadavg().map((x) => round(x)),
      }),
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
