// pgvector halfvec values as halfvec_send writes them (big-endian IEEE half floats) widened to floats by the
// addon (native/core/halfvec.h: AVX2 + F16C where the CPU has them, exact for every half).
import { loadAddon } from './addon';

/** Converts the halves.byteLength / 2 values into `out`, which must hold exactly that many and not overlap. */
export function halfvecToFloats(halves: Uint8Array, out: Float32Array): void {
  loadAddon().halfvecToFloats(halves, out);
}
