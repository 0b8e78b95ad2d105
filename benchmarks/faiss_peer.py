#!/usr/bin/python3
"""FAISS (Debian python3-faiss) on the matcher benchmark's data: the peer to beat, and the ground truth.

Reads gallery.f32 / queries.f32 from --dir. Writes gt.i64 (exact float inner-product top-k ids per query,
computed once, batched) and prints one JSON object: per-query latency of IndexFlatIP (exact float) and
IndexBinaryFlat (Hamming over the same 512 sign bits the matcher keeps), one query per call as a server
would issue them, on --threads OpenMP threads, and the binary index's recall against the exact answers.
With --binary-only (galleries too big to hold as floats, e.g. 10M = 20 GB) it skips IndexFlatIP and reads the
ground truth benchmarks/matcher.ts wrote; the binary index is always filled from gallery.f32 in chunks.
"""
import argparse
import json
import os
import time

import faiss
import numpy as np

DIMS = 512
CHUNK = 200_000  # gallery rows packed to sign bits per pass: 400 MB of floats


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


def flat_ip(gallery_file, queries, gt_file, pick, a):
    """IndexFlatIP latency; writes the exact ground truth first when it is missing."""
    gallery = np.fromfile(gallery_file, dtype=np.float32).reshape(-1, DIMS)
    flat = faiss.IndexFlatIP(DIMS)
    flat.add(gallery)
    del gallery
    if not os.path.exists(gt_file):
        # Ground truth: every core, and FAISS's own SIMD kernel rather than sgemm (Debian's default BLAS is the
        # slow reference one; it would take half an hour at 1M).
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        faiss.cvar.distance_compute_blas_threshold = 1 << 30
        _, gt = flat.search(queries, a.k)
        gt.astype(np.int64).tofile(gt_file)
        faiss.omp_set_num_threads(a.threads)
    flat_ms, _ = timed(lambda q: flat.search(q, a.k), queries[pick[: a.flat_queries]])
    return {"queries": int(len(flat_ms)), "msPerQuery": float(flat_ms.mean()), "p50": float(np.median(flat_ms))}


def binary_index(gallery_file):
    index = faiss.IndexBinaryFlat(DIMS)
    with open(gallery_file, "rb") as f:
        while (chunk := np.fromfile(f, dtype=np.float32, count=CHUNK * DIMS)).size:
            index.add(np.packbits(chunk.reshape(-1, DIMS) > 0, axis=1))
    return index


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--flat-queries", type=int, default=30)
    ap.add_argument("--binary-queries", type=int, default=300)
    ap.add_argument("--binary-only", action="store_true")
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.threads)
    gallery_file = os.path.join(a.dir, "gallery.f32")
    queries = np.fromfile(os.path.join(a.dir, "queries.f32"), dtype=np.float32).reshape(-1, DIMS)
    gt_file = os.path.join(a.dir, f"gt{a.k}.i64")
    pick = np.random.default_rng(7).permutation(len(queries))
    report = {"threads": a.threads, "faissVersion": faiss.__version__}
    if not a.binary_only:
        report["flatIP"] = flat_ip(gallery_file, queries, gt_file, pick, a)

    gt = np.fromfile(gt_file, dtype=np.int64).reshape(len(queries), a.k)
    t = time.perf_counter()
    binary = binary_index(gallery_file)
    report["n"] = int(binary.ntotal)
    report["binaryLoadMs"] = (time.perf_counter() - t) * 1000
    codes = np.packbits(queries > 0, axis=1)
    chosen = pick[: a.binary_queries]
    bin_ms, results = timed(lambda q: binary.search(q, a.k), codes[chosen])
    top1 = np.mean([results[i][1][0][0] == gt[q][0] for i, q in enumerate(chosen)])
    at10 = np.mean([len(set(results[i][1][0].tolist()) & set(gt[q].tolist())) / a.k for i, q in enumerate(chosen)])

    report["binaryFlat"] = {"queries": int(len(bin_ms)), "msPerQuery": float(bin_ms.mean()), "p50": float(np.median(bin_ms)),
                            "recallAt1": float(top1), "recallAt10": float(at10)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
