// The model files and their expected checksums (models.sha256 at the repository root, the same list bin/setup
// verifies). Start-up refuses a missing or altered file and names it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const MODEL_MANIFEST = path.resolve(import.meta.dirname, '../../models.sha256');

export interface ModelFile {
  name: string; // e.g. fr_detect
  file: string; // absolute path
  sha256: string;
  bytes: number;
}

export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export function readManifest(manifest = MODEL_MANIFEST): { file: string; sha256: string }[] {
  return fs
    .readFileSync(manifest, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [sha256, file] = line.trim().split(/\s+/);
      return { file, sha256 };
    });
}

/** Checks every model file against the manifest; throws ModelFileError naming the first bad file. */
export function verifyModels(modelsDir: string, manifest = MODEL_MANIFEST): ModelFile[] {
  return readManifest(manifest).map(({ file, sha256 }) => {
    const full = path.join(modelsDir, file);
    let data: Buffer;
    try {
      data = fs.readFileSync(full);
    } catch {
      throw new ModelFileError(full, `model file ${full} is missing: run bin/setup`);
    }
    const actual = crypto.createHash('sha256').update(data).digest('hex');
    if (actual !== sha256) {
      throw new ModelFileError(full, `model file ${full} is corrupt: sha256 ${actual}, expected ${sha256}; run bin/setup`);
    }
    return { name: path.basename(file, '.onnx'), file: full, sha256, bytes: data.length };
  });
}
