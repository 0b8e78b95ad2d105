// `npm run bench:faceintellect`: Face Intellect's FindFaces over HTTP on loopback, one request at a time, with
// the quality block (FACEINTELLECT_QUALITY=true, the default) and without it (quality = the detector's
// confidence), on the same server data and photos, in the same run: what measuring each face's quality costs.
// The server's "cams" collection gets the gallery photos of --people LFW people through CreatePerson; probes
// are their other photos plus --unknown photos of people never enrolled, and one 7-face group photo.
//
//   npm run bench:faceintellect -- [--people 20] [--unknown 10] [--rounds 3]
//   DATABASE_URL=postgres://... npm run bench:faceintellect     (PostgreSQL instead of the embedded store)
//
// Prints one JSON line: per mode, the median and 95th-percentile latency (ms) of single-face probes and of the
// group photo, and the share of probes whose best match was the right person.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { startServer } from '../src/server';

const FACEDATA = path.resolve(import.meta.dirname, '../../shared/facedata');

interface Args {
  people: number;
  unknown: number;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { people: 20, unknown: 10, rounds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Args;
    if (!(key in a) || !Number.isInteger(Number(argv[i + 1]))) throw new Error(`bad option ${argv[i]} ${argv[i + 1]}`);
    a[key] = Number(argv[i + 1]);
  }
  return a;
}

const read = (rel: string) => fs.readFileSync(path.join(FACEDATA, rel));

function photos(a: Args) {
  const rows = fs.readFileSync(path.join(FACEDATA, 'identification.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const byName = new Map<string, { gallery?: string; probes: string[] }>();
  const unknown: string[] = [];
  for (const [p, id, set, role] of rows) {
    if (set !== 'lfw') continue;
    if (role === 'unknown_probe') unknown.push(p);
    if (role !== 'gallery' && role !== 'probe') continue;
    const e = byName.get(id) ?? { probes: [] };
    if (role === 'gallery') e.gallery = p;
    else e.probes.push(p);
    byName.set(id, e);
  }
  const people = [...byName.entries()]
    .filter(([, e]) => e.gallery && e.probes.length)
    .sort(([x], [y]) => x.localeCompare(y))
    .slice(0, a.people)
    .map(([name, e]) => ({ name, gallery: e.gallery!, probe: e.probes[0] }));
  return { people, unknown: unknown.slice(0, a.unknown) };
}

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10;
};

async function run(a: Args, quality: boolean) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-fi-'));
  const config = loadConfig({
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    FACEINTELLECT_QUALITY: String(quality),
  });
  const server = await startServer(config, pino({ level: 'silent' })).catch((err: unknown) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  try {
    const { key } = await server.services.keys.create('faceintellect', { user: 'bench', collections: [`cams-${process.pid}-${quality}`] });
    const auth = `Basic ${Buffer.from(`bench:${key}`).toString('base64')}`;
    const post = async (endpoint: string, body: unknown) => {
      const res = await fetch(`${server.url}/firserver/${endpoint}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as { Result?: string; FaceList?: { PersonList: { Id: string }[] }[] };
      if (res.status !== 200) throw new Error(`${endpoint}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const { people, unknown } = photos(a);
    const ids = new Map<string, string>();
    for (const p of people) ids.set(p.probe, (await post('CreatePerson', { server_id: '1', surname: p.name, department: '', image: read(p.gallery).toString('base64') })).Result!);
    const probes = [...people.map((p) => p.probe), ...unknown].map((rel) => ({ rel, b64: read(rel).toString('base64') }));
    const group = read('groups/dlib_2007_007763.jpg').toString('base64');
    const single: number[] = [];
    const crowd: number[] = [];
    let right = 0;
    await post('FindFaces', { server_id: '1', findPersons: 1, image: probes[0].b64 }); // warm-up
    for (let r = 0; r < a.rounds; r++) {
      for (const p of probes) {
        const t = performance.now();
        const out = await post('FindFaces', { server_id: '1', findPersons: 1, image: p.b64 });
        single.push(performance.now() - t);
        const best = out.FaceList?.[0]?.PersonList[0]?.Id;
        if (r === 0 && (ids.get(p.rel) ?? undefined) === best) right++;
      }
      const t = performance.now();
      await post('FindFaces', { server_id: '1', findPersons: 1, image: group });
      crowd.push(performance.now() - t);
    }
    return {
      quality,
      singleFaceMs: { p50: percentile(single, 0.5), p95: percentile(single, 0.95), n: single.length },
      sevenFaceGroupMs: { p50: percentile(crowd, 0.5), n: crowd.length },
      rightFirst: `${right}/${probes.length}`,
    };
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const a = parseArgs(process.argv.slice(2));
const withQuality = await run(a, true);
const withoutQuality = await run(a, false);
console.log(JSON.stringify({ store: process.env.DATABASE_URL ? 'postgres' : 'embedded', cpus: os.cpus().length, ...a, runs: [withQuality, withoutQuality] }));
