// Real face embeddings of the identity-labelled facedata photos (LFW + web), computed once with the engine
// (detect -> landmarks -> 5-point align -> fr_feature, unit length) and cached under .tmp/ (gitignored:
// embeddings are biometric data, never commit or log them). The matcher benchmark samples its gallery
// around these and searches with the real probes.
import fs from 'node:fs';
import path from 'node:path';

import { Engine } from '../../src/engine/engine';
import { readTsv } from './tsv';

export interface RealEmbeddings {
  paths: string[];
  identities: string[];
  roles: string[]; // identification.tsv role (gallery | probe | distractor | unknown_probe) or '' if not listed
  vectors: Float32Array; // paths.length x 512, unit length
}

const DIMS = 512;

export async function loadRealEmbeddings(facedataDir: string, modelsDir: string, cacheDir: string): Promise<RealEmbeddings> {
  const metaFile = path.join(cacheDir, 'real-embeddings.json');
  const vecFile = path.join(cacheDir, 'real-embeddings.f32');
  if (fs.existsSync(metaFile) && fs.existsSync(vecFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as Omit<RealEmbeddings, 'vectors'>;
    const bytes = fs.readFileSync(vecFile);
    return { ...meta, vectors: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  }
  const images = readTsv(facedataDir, 'images.tsv') ?? [];
  const roles = new Map((readTsv(facedataDir, 'identification.tsv') ?? []).map((r) => [r.path, r.role]));
  const rows = images.filter((r) => r.subset !== 'web_face_recognition_robustness');
  const engine = await Engine.open({ modelsDir, workers: 2, queueSize: 64 });
  const result: RealEmbeddings = { paths: [], identities: [], roles: [], vectors: new Float32Array(0) };
  const vectors: Float32Array[] = [];
  try {
    // A few requests in flight at a time: the engine's queue is bounded.
    for (let start = 0; start < rows.length; start += 16) {
      const batch = rows.slice(start, start + 16).map(async (row) => {
        const image = fs.readFileSync(path.join(facedataDir, row.path));
        const analysis = await engine.analyze(image, { template: true, maxFaces: 1 });
        return { row, embedding: analysis.faces[0]?.embedding };
      });
      for (const { row, embedding } of await Promise.all(batch)) {
        if (!embedding) continue; // no face found: left out
        result.paths.push(row.path);
        result.identities.push(row.identity);
        result.roles.push(roles.get(row.path) ?? '');
        vectors.push(embedding);
      }
    }
  } finally {
    await engine.close();
  }
  result.vectors = new Float32Array(vectors.length * DIMS);
  vectors.forEach((v, i) => result.vectors.set(v, i * DIMS));
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(vecFile, Buffer.from(result.vectors.buffer, result.vectors.byteOffset, result.vectors.byteLength));
  fs.writeFileSync(metaFile, JSON.stringify({ paths: result.paths, identities: result.identities, roles: result.roles }));
  return result;
}
