#!/usr/bin/python3
"""Generates a face-like gallery of N unit 512-d templates around real embeddings, plus the queries.

Model (fitted on the real embeddings of the identity-labelled facedata photos, see benchmarks/RESULTS.md):
  identity centre  c = mu + B z_b      (B: between-identity covariance factor)
  template         x = normalise(c + W z_w)   (W: within-identity covariance factor)
Both covariances come from the real data (identity means and residuals around them), shrunk 10% toward
isotropic, and sampled through their top-128 principal axes plus isotropic remainder (fast at 10M).
Each synthetic identity has 1 template (60%), 2 (25%) or 3 (15%).

Rows 0..R-1 of the gallery are the real enrolled embeddings (identification.tsv roles gallery + distractor);
queries are the real probes (mates enrolled), the real unknown probes (not enrolled) and fresh synthetic
samples of enrolled synthetic identities. Writes gallery.f32, queries.f32, meta.json into --out.
"""
import argparse
import json
import os

import numpy as np

DIMS = 512
RANK = 128


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def factor(cov):
    """Top-RANK axes scaled by sqrt(eigenvalue), and the sd of the isotropic remainder."""
    cov = 0.9 * cov + 0.1 * np.trace(cov) / DIMS * np.eye(DIMS)
    vals, vecs = np.linalg.eigh(cov)
    vals, vecs = vals[::-1].clip(min=0), vecs[:, ::-1]
    rest = float(np.sqrt(vals[RANK:].mean()))
    top = (vecs[:, :RANK] * np.sqrt(np.maximum(vals[:RANK] - rest**2, 0))).astype(np.float32)
    return top, rest


def sample(rng, n, top, rest):
    z = rng.standard_normal((n, RANK), dtype=np.float32)
    return z @ top.T + rest * rng.standard_normal((n, DIMS), dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", required=True, help="folder with real-embeddings.f32 and real-embeddings.json")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synthetic-probes", type=int, default=400)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    meta = json.load(open(os.path.join(a.real, "real-embeddings.json")))
    real = np.fromfile(os.path.join(a.real, "real-embeddings.f32"), dtype=np.float32).reshape(-1, DIMS)
    ids = np.array(meta["identities"])
    roles = np.array(meta["roles"])

    # Fit: global mean, identity means, residuals within identities that have >= 2 photos.
    mu = real.mean(axis=0)
    names, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    means = np.stack([real[inverse == i].mean(axis=0) for i in range(len(names))])
    multi = counts[inverse] >= 2
    resid = (real - means[inverse])[multi]
    # Residuals around a mean of n photos shrink by (n-1)/n: undo it.
    resid *= np.sqrt(counts[inverse][multi] / (counts[inverse][multi] - 1))[:, None]
    within = np.cov(resid, rowvar=False)
    between = np.cov(means[counts >= 2] - mu, rowvar=False) - within / counts[counts >= 2].mean()
    vals, vecs = np.linalg.eigh(between)
    between = (vecs * vals.clip(min=0)) @ vecs.T
    b_top, b_rest = factor(between)
    w_top, w_rest = factor(within)

    rng = np.random.default_rng(a.seed)
    enrolled = np.where((roles == "gallery") | (roles == "distractor"))[0]
    real_probes = np.where(roles == "probe")[0]
    unknown = np.where(roles == "unknown_probe")[0]
    n_real = len(enrolled)
    if a.n < n_real + 10:
        raise SystemExit(f"--n must be at least {n_real + 10}")

    os.makedirs(a.out, exist_ok=True)
    synthetic_probe_rows, synthetic_probes = [], []
    with open(os.path.join(a.out, "gallery.f32"), "wb") as f:
        real[enrolled].astype(np.float32).tofile(f)
        row = n_real
        chunk = 200_000
        want = set(rng.choice(np.arange(n_real, a.n), size=min(a.synthetic_probes, a.n - n_real), replace=False).tolist())
        while row < a.n:
            # Identities for this chunk: sizes 1/2/3 templates.
            sizes = rng.choice([1, 2, 3], size=chunk, p=[0.6, 0.25, 0.15])
            sizes = sizes[: np.searchsorted(np.cumsum(sizes), min(chunk, a.n - row), side="left") + 1]
            total = int(sizes.sum())
            centres = mu + sample(rng, len(sizes), b_top, b_rest)
            owner = np.repeat(np.arange(len(sizes)), sizes)
            templates = unit(centres[owner] + sample(rng, total, w_top, w_rest))[: a.n - row]
            for i in range(len(templates)):
                if row + i in want:  # a fresh sample of the same identity becomes a mated query
                    synthetic_probe_rows.append(row + i)
                    synthetic_probes.append(unit(centres[owner[i]][None] + sample(rng, 1, w_top, w_rest))[0])
            templates.astype(np.float32).tofile(f)
            if row == n_real:
                stats_block = templates[:4000]
            row += len(templates)

    queries = np.concatenate([real[real_probes], real[unknown], np.array(synthetic_probes, dtype=np.float32).reshape(-1, DIMS)])
    queries.astype(np.float32).tofile(os.path.join(a.out, "queries.f32"))

    # How face-like the synthetic templates are: cosine statistics next to the real ones.
    def pair_stats(x, same):
        c = x @ x.T
        return c[same & ~np.eye(len(x), dtype=bool)]

    real_same = ids[:, None] == ids[None, :]
    r_diff = pair_stats(real, ~real_same)
    r_same = pair_stats(real, real_same)
    s_diff = (stats_block[:2000] @ stats_block[2000:4000].T).ravel()
    mates = np.array([np.dot(synthetic_probes[i], np.fromfile(os.path.join(a.out, "gallery.f32"), dtype=np.float32,
                                                               count=DIMS, offset=synthetic_probe_rows[i] * DIMS * 4))
                      for i in range(min(200, len(synthetic_probes)))])
    out = {
        "n": a.n,
        "seed": a.seed,
        "realEnrolled": n_real,
        "realIdentities": int(len(names)),
        "queries": {"realProbes": int(len(real_probes)), "realUnknown": int(len(unknown)),
                    "syntheticProbes": len(synthetic_probes)},
        "cosine": {
            "realDifferent": {"mean": float(r_diff.mean()), "sd": float(r_diff.std()), "p999": float(np.quantile(r_diff, 0.999))},
            "syntheticDifferent": {"mean": float(s_diff.mean()), "sd": float(s_diff.std()), "p999": float(np.quantile(s_diff, 0.999))},
            "realSame": {"mean": float(r_same.mean()), "min": float(r_same.min())},
            "syntheticSame": {"mean": float(mates.mean()), "min": float(mates.min())},
        },
    }
    # The enrolled row of each real probe's identity (first gallery photo), for identification accuracy.
    gallery_row = {}
    for r, i in enumerate(enrolled):
        if roles[i] == "gallery":
            gallery_row[ids[i]] = r
    out["queryMate"] = [gallery_row.get(ids[i], -1) for i in real_probes] + [-1] * len(unknown) + synthetic_probe_rows
    json.dump(out, open(os.path.join(a.out, "meta.json"), "w"))


if __name__ == "__main__":
    main()
