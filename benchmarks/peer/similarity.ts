// Least-squares 2-D similarity transform (rotation, uniform scale, translation; no reflection), the closed
// form of Umeyama's method in the plane: with both point sets centred, q = [a -b; b a] p has
// a = sum(p.q) / sum(|p|^2) and b = sum(p x q) / sum(|p|^2).

import type { InverseAffine } from './image.js';

export type Point = [number, number];

/** Forward map src -> dst: x' = a*x - b*y + tx, y' = b*x + a*y + ty. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) throw new Error('estimateSimilarity needs >= 2 point pairs');
  const n = src.length;
  let spx = 0, spy = 0, sqx = 0, sqy = 0;
  for (let i = 0; i < n; i++) {
    spx += src[i][0]; spy += src[i][1]; sqx += dst[i][0]; sqy += dst[i][1];
  }
  const mpx = spx / n, mpy = spy / n, mqx = sqx / n, mqy = sqy / n;
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i][0] - mpx, py = src[i][1] - mpy;
    const qx = dst[i][0] - mqx, qy = dst[i][1] - mqy;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  if (norm === 0) throw new Error('estimateSimilarity: source points coincide');
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: mqx - (a * mpx - b * mpy), ty: mqy - (b * mpx + a * mpy) };
}

/** The inverse (dst -> src) as a sampling map, for warping the source image into the destination frame. */
export function inverseMap(t: Similarity): InverseAffine {
  const det = t.a * t.a + t.b * t.b;
  const ia = t.a / det, ib = t.b / det;
  // inverse rotation-scale is [ia ib; -ib ia]
  return { a: ia, b: ib, c: -(ia * t.tx + ib * t.ty), d: -ib, e: ia, f: -(-ib * t.tx + ia * t.ty) };
}
