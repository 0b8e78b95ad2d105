// Embeddings for store and index tests: seeded synthetic ones (clusters of "identities" around random
// centres), and real ones computed by the engine from ../shared/facedata, with galleries sampled around them.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './server';

const DIM = 512;

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller). */
function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

export function randomUnit(seed: number): Float32Array {
  const g = gaussian(rng(seed));
  return normalise(Float32Array.from({ length: DIM }, g));
}

/** A unit vector near `centre`: cosine to it about `closeness` (0..1). */
export function around(centre: Float32Array, closeness: number, next: () => number): Float32Array {
  const g = gaussian(next);
  const noise = normalise(Float32Array.from({ length: DIM }, g));
  const spread = Math.sqrt(1 - closeness * closeness);
  return normalise(centre.map((c, i) => closeness * c + spread * noise[i]));
}

/** n unit embeddings in `identities` clusters (cosine ~0.7 within a cluster, ~0 across), n x 512. */
export function clusteredEmbeddings(n: number, identities: number, seed: number): Float32Array {
  const next = rng(seed);
  const centres = Array.from({ length: identities }, (_, i) => randomUnit(seed * 1000 + i));
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) out.set(around(centres[i % identities], 0.84, next), i * DIM);
  return out;
}

export const FACEDATA = path.resolve(REPO_ROOT, '../shared/facedata');

export function haveFacedata(): boolean {
  return fs.existsSync(path.join(FACEDATA, 'identification.tsv'));
}

export interface RealIdentity {
  name: string;
  gallery: Float32Array;
  probes: Float32Array[];
}

/**
 * Real embeddings of LFW people from the identification list: one gallery photo and their probe photos
 * each, computed by the engine (the same pipeline the server uses).
 */
export async function realIdentities(count: number): Promise<RealIdentity[]> {
  const { Engine } = await import('../../src/engine/engine');
  const rows = fs
    .readFileSync(path.join(FACEDATA, 'identification.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((f) => f[2] === 'lfw');
  const byName = new Map<string, { gallery?: string; probes: string[] }>();
  for (const [file, identity, , role] of rows) {
    const entry = byName.get(identity) ?? { probes: [] };
    if (role === 'gallery') entry.gallery = file;
    else if (role === 'probe') entry.probes.push(file);
    byName.set(identity, entry);
  }
  const chosen = [...byName.entries()].filter(([, e]) => e.gallery && e.probes.length).sort(([a], [b]) => a.localeCompare(b)).slice(0, count);
  const engine = await Engine.open({ modelsDir: path.join(REPO_ROOT, 'models'), workers: 2 });
  try {
    const embed = async (file: string): Promise<Float32Array | undefined> => {
      const r = await engine.analyze(fs.readFileSync(path.join(FACEDATA, file)), { maxFaces: 1, template: true });
      return r.faces[0]?.embedding;
    };
    const out: RealIdentity[] = [];
    for (const [name, e] of chosen) {
      const gallery = await embed(e.gallery!);
      const probes = (await Promise.all(e.probes.slice(0, 2).map(embed))).filter((p): p is Float32Array => !!p);
      if (gallery && probes.length) out.push({ name, gallery, probes });
    }
    return out;
  } finally {
    await engine.close();
  }
}
