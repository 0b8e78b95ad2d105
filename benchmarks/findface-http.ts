// npm run bench:findface-http [-- --people 20 --requests 40]
//
// FindFace over HTTP on loopback, one request at a time, on the embedded store (DATABASE_URL: PostgreSQL): the
// people's gallery photos added with POST /v0/face (meta), then for each of their other photos, in turn,
// POST /v0/identify (multipart upload), POST /v0/verify (both photos uploaded), and POST /v0/face with a cam_id
// (dynamic person creation: a search for the most similar face, the camera event written before the answer so
// the answer's 'friend' counts it), then POST /v0/history/search. Milliseconds per request (median, p95), and
// how often identify's best match and the camera face's person were the right person. One JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { startServer } from '../src/server';

const FACEDATA = path.resolve(import.meta.dirname, '../../shared/facedata');
const { values: args } = parseArgs({ options: { people: { type: 'string', default: '20' }, requests: { type: 'string', default: '40' } } });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function people(n: number): { name: string; gallery: string; probes: string[] }[] {
  const rows = fs.readFileSync(path.join(FACEDATA, 'identification.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const byName = new Map<string, { name: string; gallery: string; probes: string[] }>();
  for (const [p, identity, set, role] of rows) {
    if (set !== 'lfw' || (role !== 'gallery' && role !== 'probe')) continue;
    const person = byName.get(identity) ?? { name: identity, gallery: '', probes: [] };
    if (role === 'gallery') person.gallery = p;
    else person.probes.push(p);
    byName.set(identity, person);
  }
  return [...byName.values()].filter((p) => p.gallery && p.probes.length).sort((a, b) => a.name.localeCompare(b.name)).slice(0, n);
}

function stats(ms: number[]): { median: number; p95: number; n: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10;
  return { median: at(0.5), p95: at(0.95), n: s.length };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-findface-'));
const server = await startServer(loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), pino({ level: 'silent' })).catch(
  (err: unknown) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  },
);
try {
  const { key } = await server.services.keys.create('findface');
  const post = async (p: string, fields: Record<string, string | Buffer>): Promise<{ ms: number; body: Json }> => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) {
      if (typeof v === 'string') form.append(k, v);
      else form.append(k, new Blob([new Uint8Array(v)]), 'photo.jpg');
    }
    const started = performance.now();
    const res = await fetch(`${server.url}/v0${p}`, { method: 'POST', headers: { authorization: `Token ${key}` }, body: form });
    const body = (await res.json()) as Json;
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${JSON.stringify(body)}`);
    return { ms, body };
  };
  const photo = (rel: string) => fs.readFileSync(path.join(FACEDATA, rel));
  const set = people(Number(args.people));
  const enrol: number[] = [];
  const personOf = new Map<string, number>();
  for (const p of set) {
    const r = await post('/face', { photo: photo(p.gallery), meta: p.name });
    enrol.push(r.ms);
    personOf.set(p.name, r.body.results[0].person_id);
  }
  const probes = set.flatMap((p) => p.probes.map((probe) => ({ person: p, probe }))).slice(0, Number(args.requests));
  const identify: number[] = [];
  const verify: number[] = [];
  const camera: number[] = [];
  let identified = 0;
  let joined = 0;
  for (const { person, probe } of probes) {
    const id = await post('/identify', { photo: photo(probe) });
    identify.push(id.ms);
    const best = (Object.values(id.body.results)[0] as Json[])[0];
    if (best?.face.meta === person.name) identified++;
    verify.push((await post('/verify', { photo1: photo(person.gallery), photo2: photo(probe) })).ms);
    const cam = await post('/face', { photo: photo(probe), cam_id: 'bench-camera' });
    camera.push(cam.ms);
    if (cam.body.results[0].person_id === personOf.get(person.name)) joined++;
  }
  const history: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    const res = await fetch(`${server.url}/v0/history/search`, { method: 'POST', headers: { authorization: `Token ${key}`, 'content-type': 'application/json' }, body: '{"limit": 20}' });
    await res.json();
    history.push(performance.now() - started);
  }
  console.log(
    JSON.stringify({
      store: process.env.DATABASE_URL ? 'postgres' : 'embedded',
      people: set.length,
      probes: probes.length,
      enrolMs: stats(enrol),
      identifyMs: stats(identify),
      verifyMs: stats(verify),
      cameraFaceMs: stats(camera),
      historySearchMs: stats(history),
      identifiedRight: `${identified}/${probes.length}`,
      cameraFacesJoinedTheirPerson: `${joined}/${probes.length}`,
      cpus: os.cpus().length,
      load: os.loadavg()[0].toFixed(1),
    }),
  );
} finally {
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
