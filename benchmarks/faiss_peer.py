#!/usr/bin/python3
"""FAISS (Debian python3-faiss) on the matcher benchmark's data: the peer to beat, and the ground truth.

Reads gallery.f32 / queries.f32 from --dir. Writes gt.i64 (exact float inner-product top-k ids per query,
computed once, batched) and prints one JSON object: per-query latency of IndexFlatIP (exact float) and
IndexBinaryFlat (Hamming over the same 512 sign bits the matcher keeps), one query per call as a server
would issue them, on --threads OpenMP threads, and the binary index's recall against the exact answers.
"""
import argparse
import json
import os
import time

import faiss
import numpy as np

DIMS = 512


def timed(search, queries, repeats_warmup=2):
    for q in queries[:repeats_warmup]:
        search(q[None])
    ms = []
    results = []
    for q in queries:
        t = time.perf_counter()
        results.append(search(q[None]))
        ms.append((time.perf_counter() - t) * 1000)
    return np.array(ms), results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--flat-queries", type=int, default=30)
    ap.add_argument("--binary-queries", type=int, default=300)
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.threads)
    gallery = np.fromfile(os.path.join(a.dir, "gallery.f32"), dtype=np.float32).reshape(-1, DIMS)
    queries = np.fromfile(os.path.join(a.dir, "queries.f32"), dtype=np.float32).reshape(-1, DIMS)
    n = len(gallery)

    flat = faiss.IndexFlatIP(DIMS)
    flat.add(gallery)
    gt_file = os.path.join(a.dir, f"gt{a.k}.i64")
    if not os.path.exists(gt_file):
        # Ground truth: every core, and FAISS's own SIMD kernel rather than sgemm (Debian's default BLAS is the
        # slow reference one; it would take half an hour at 1M).
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        faiss.cvar.distance_compute_blas_threshold = 1 << 30
        _, gt = flat.search(queries, a.k)
        gt.astype(np.int64).tofile(gt_file)
        faiss.omp_set_num_threads(a.threads)
    gt = np.fromfile(gt_file, dtype=np.int64).reshape(len(queries), a.k)

    rng = np.random.default_rng(7)
    pick = rng.permutation(len(queries))
    flat_ms, _ = timed(lambda q: flat.search(q, a.k), queries[pick[: a.flat_queries]])
    del flat

    binary = faiss.IndexBinaryFlat(DIMS)
    binary.add(np.packbits(gallery > 0, axis=1))
    del gallery
    codes = np.packbits(queries > 0, axis=1)
    chosen = pick[: a.binary_queries]
    bin_ms, results = timed(lambda q: binary.search(q, a.k), codes[chosen])
    top1 = np.mean([results[i][1][0][0] == gt[q][0] for i, q in enumerate(chosen)])
    at10 = np.mean([len(set(results[i][1][0].tolist()) & set(gt[q].tolist())) / a.k for i, q in enumerate(chosen)])

    print(json.dumps({
        "n": n,
        "threads": a.threads,
        "faissVersion": faiss.__version__,
        "flatIP": {"queries": int(len(flat_ms)), "msPerQuery": float(flat_ms.mean()), "p50": float(np.median(flat_ms))},
        "binaryFlat": {"queries": int(len(bin_ms)), "msPerQuery": float(bin_ms.mean()), "p50": float(np.median(bin_ms)),
                       "recallAt1": float(top1), "recallAt10": float(at10)},
    }))


if __name__ == "__main__":
    main()
