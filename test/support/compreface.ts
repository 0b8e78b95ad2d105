// Helpers for the CompreFace black-box tests: the real server on each store, keys, photos from
// ../shared/facedata, and small HTTP helpers that speak CompreFace's multipart and JSON.
import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../../src/server';
import { createTempDatabase, requirePostgres, type TempDatabase } from './postgres';
import { REPO_ROOT, startTestServer } from './server';

export const FACEDATA = path.resolve(REPO_ROOT, '../shared/facedata');
/** The same folder as a path relative to the repository (the official SDK only reads paths starting with "."). */
export const FACEDATA_RELATIVE = path.relative(REPO_ROOT, FACEDATA);

/** Skips the suite, saying why, when the labelled photos are not there (a user's clone lacks them). */
export function requireFacedata(ctx: Mocha.Context): void {
  if (fs.existsSync(path.join(FACEDATA, 'identification.tsv'))) return;
  if (process.env.CI) throw new Error(`${FACEDATA} is missing`);
  console.log(`    (skipped: ${FACEDATA} is not present)`);
  ctx.skip();
}

export function photo(rel: string): Buffer {
  return fs.readFileSync(path.join(FACEDATA, rel));
}

export interface Person {
  name: string;
  gallery: string;
  probes: string[];
}

/** LFW people with a gallery photo and probes, in name order; plus photos of people never enrolled. */
export function identificationSet(n: number): { people: Person[]; unknown: string[] } {
  const rows = fs
    .readFileSync(path.join(FACEDATA, 'identification.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((f) => f[2] === 'lfw');
  const byName = new Map<string, Person>();
  for (const [p, identity, , role] of rows) {
    if (role !== 'gallery' && role !== 'probe') continue;
    const person = byName.get(identity) ?? { name: identity, gallery: '', probes: [] };
    if (role === 'gallery') person.gallery = p;
    else person.probes.push(p);
    byName.set(identity, person);
  }
  const people = [...byName.values()]
    .filter((p) => p.gallery && p.probes.length)
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, n);
  const unknown = rows.filter((f) => f[3] === 'unknown_probe').map((f) => f[0]);
  return { people, unknown };
}

export interface Store {
  name: string;
  start(ctx: Mocha.Context): Promise<RunningServer>;
  cleanup(): Promise<void>;
}

/** The embedded store always; real PostgreSQL when TEST_DATABASE_URL is set (always in CI). */
export function stores(): Store[] {
  let temp: TempDatabase | undefined;
  return [
    { name: 'embedded', start: () => startTestServer(), cleanup: async () => {} },
    {
      name: 'postgres',
      start: async (ctx) => {
        temp = await createTempDatabase(requirePostgres(ctx));
        return startTestServer({ DATABASE_URL: temp.url });
      },
      cleanup: async () => {
        await temp?.drop();
      },
    },
  ];
}

export interface Keys {
  recognition: string;
  detection: string;
  verification: string;
}

export async function createKeys(server: RunningServer): Promise<Keys> {
  const k = server.services.keys;
  return {
    recognition: (await k.create('recognition')).key,
    detection: (await k.create('detection')).key,
    verification: (await k.create('verification')).key,
  };
}

export interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A small CompreFace client over fetch: multipart or JSON bodies, x-api-key header. */
export class Api {
  constructor(
    readonly base: string,
    private readonly key?: string,
  ) {}

  withKey(key: string | undefined): Api {
    return new Api(this.base, key);
  }

  async request(method: string, p: string, opts: { json?: unknown; files?: Record<string, Buffer>; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(this.key !== undefined ? { 'x-api-key': this.key } : {}), ...opts.headers };
    let body: BodyInit | undefined;
    if (opts.files) {
      const form = new FormData();
      for (const [field, bytes] of Object.entries(opts.files)) form.append(field, new Blob([new Uint8Array(bytes)]), `${field}.jpg`);
      body = form;
    } else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(`${this.base}/api/v1${p}`, { method, headers, body });
    const type = res.headers.get('content-type') ?? '';
    const payload = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: payload };
  }

  post(p: string, opts?: Parameters<Api['request']>[2]) {
    return this.request('POST', p, opts);
  }
  get(p: string) {
    return this.request('GET', p);
  }
  delete(p: string) {
    return this.request('DELETE', p);
  }
  put(p: string, json: unknown) {
    return this.request('PUT', p, { json });
  }

  /** Enrols a photo for a subject; returns the image_id. */
  async enrol(subject: string, bytes: Buffer): Promise<string> {
    const r = await this.post(`/recognition/faces?subject=${encodeURIComponent(subject)}`, { files: { file: bytes } });
    if (r.status !== 201) throw new Error(`enrol ${subject}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.image_id;
  }
}

/** Rows in a table (to prove a failed request changed nothing). */
export async function countRows(server: RunningServer, table: 'faces' | 'persons' | 'photos' | 'recognition_events'): Promise<number> {
  const r = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return r.rows[0].n;
}
