#!/usr/bin/python3
"""FAISS IndexBinaryFlat on a gallery too big to hold as floats (10M: 20 GB): benchmarks/faiss_peer.py's
binary half, with gallery.f32 read in chunks and packed to sign bits as it goes (64 bytes per template).
Times one query per call on --threads OpenMP threads; recall against gt{k}.i64 (exact float top-k, written
by benchmarks/matcher.ts). Prints one JSON object shaped like faiss_peer.py's, without "flatIP".
"""
import argparse
import json
import os
import time

import faiss
import numpy as np

DIMS = 512
CHUNK = 200_000  # rows read per pass: 400 MB of floats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--binary-queries", type=int, default=300)
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.threads)
    queries = np.fromfile(os.path.join(a.dir, "queries.f32"), dtype=np.float32).reshape(-1, DIMS)
    gt = np.fromfile(os.path.join(a.dir, f"gt{a.k}.i64"), dtype=np.int64).reshape(len(queries), a.k)
    binary = faiss.IndexBinaryFlat(DIMS)
    t = time.perf_counter()
    with open(os.path.join(a.dir, "gallery.f32"), "rb") as f:
        while True:
            chunk = np.fromfile(f, dtype=np.float32, count=CHUNK * DIMS)
            if chunk.size == 0:
                break
            binary.add(np.packbits(chunk.reshape(-1, DIMS) > 0, axis=1))
    load_ms = (time.perf_counter() - t) * 1000

    # Same query choice as faiss_peer.py.
    pick = np.random.default_rng(7).permutation(len(queries))
    chosen = pick[: a.binary_queries]
    codes = np.packbits(queries > 0, axis=1)
    for q in chosen[:2]:
        binary.search(codes[q][None], a.k)
    ms, results = [], []
    for q in chosen:
        t = time.perf_counter()
        results.append(binary.search(codes[q][None], a.k))
        ms.append((time.perf_counter() - t) * 1000)
    ms = np.array(ms)
    top1 = np.mean([results[i][1][0][0] == gt[q][0] for i, q in enumerate(chosen)])
    at10 = np.mean([len(set(results[i][1][0].tolist()) & set(gt[q].tolist())) / a.k for i, q in enumerate(chosen)])
    print(json.dumps({
        "n": int(binary.ntotal),
        "threads": a.threads,
        "faissVersion": faiss.__version__,
        "loadMs": load_ms,
        "binaryFlat": {"queries": int(len(ms)), "msPerQuery": float(ms.mean()), "p50": float(np.median(ms)),
                       "recallAt1": float(top1), "recallAt10": float(at10)},
    }))


if __name__ == "__main__":
    main()
