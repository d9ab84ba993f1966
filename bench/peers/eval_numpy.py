"""numpy peer of bench/eval.ts: the same computations as facekd's src/eval/all-vs-all.ts and
src/analysis/intrinsic-dimension.ts, written the way one would in numpy, on the files that bench/eval.ts writes.

usage: eval_numpy.py all-vs-all DIR BINS BLOCK   (DIR/embeddings.npy [N, D] float32, DIR/labels.npy [N] int64)
       eval_numpy.py twonn DIR K MARGIN BLOCK      (DIR/embeddings.npy, DIR/subsets.npy [R, M] int32)
Prints one JSON line: the wall and CPU seconds of the computation (file reading excluded), its results, and the
BLAS in use.
"""

import ctypes
import glob
import json
import sys
import time

import numpy as np


def blas_info():
    """The OpenBLAS build and kernel numpy's BLAS resolves to, if it is OpenBLAS."""
    for path in glob.glob("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas*.so*"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return {
                "library": path,
                "core": lib.openblas_get_corename().decode(),
                "config": lib.openblas_get_config().decode(),
                "threads": lib.openblas_get_num_threads(),
            }
        except OSError:
            continue
    return {"library": "unknown"}


def all_vs_all(x, labels, bins, block):
    """Histograms of the cosine scores of all genuine and impostor pairs i < j, by upper-triangle tiles."""
    order = np.argsort(labels, kind="stable")
    labels = labels[order]
    x = x[order]
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    total = np.zeros(bins + 1, np.int64)  # the extra bin takes the masked lower triangle of diagonal tiles
    genuine = np.zeros(bins + 1, np.int64)
    scale = np.float32(bins / 2)
    for i0 in range(0, n, block):
        xi = x[i0 : i0 + block]
        li = labels[i0 : i0 + block]
        for j0 in range(i0, n, block):
            s = xi @ x[j0 : j0 + block].T
            np.clip(s, -1, 1, out=s)
            b = ((s + np.float32(1)) * scale).astype(np.int32)
            np.minimum(b, bins - 1, out=b)
            if j0 == i0:
                b[np.tril_indices(len(xi))] = bins
            total += np.bincount(b.ravel(), minlength=bins + 1)
            if j0 == i0 or li[-1] == labels[j0]:
                same = li[:, None] == labels[j0 : j0 + block][None, :]
                genuine += np.bincount(b[same], minlength=bins + 1)
    return genuine[:bins], (total - genuine)[:bins]


def k_nearest(x, k, margin, block):
    """Exact k nearest neighbours of unit-norm rows: upper-triangle tiles of x x^T serve rows and columns,
    the best k + margin candidates by dot product are re-ranked by float64 distance."""
    n = len(x)
    width = min(k + margin, n - 1)
    best_s = np.full((n, width), -np.inf, np.float32)
    best_i = np.zeros((n, width), np.int64)

    def merge(start, tile, offset):
        w = min(width, tile.shape[1])
        cand = np.argpartition(-tile, w - 1, axis=1)[:, :w]
        scores = np.concatenate([best_s[start : start + len(tile)], np.take_along_axis(tile, cand, 1)], 1)
        ids = np.concatenate([best_i[start : start + len(tile)], cand + offset], 1)
        pick = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        best_s[start : start + len(tile)] = np.take_along_axis(scores, pick, 1)
        best_i[start : start + len(tile)] = np.take_along_axis(ids, pick, 1)

    for i0 in range(0, n, block):
        for j0 in range(i0, n, block):
            s = x[i0 : i0 + block] @ x[j0 : j0 + block].T
            if i0 == j0:
                np.fill_diagonal(s, -np.inf)
            merge(i0, s, j0)
            if i0 != j0:
                merge(j0, np.ascontiguousarray(s.T), i0)
    x64 = x.astype(np.float64)
    dist = np.empty((n, width))
    for s0 in range(0, n, 1024):
        rows = slice(s0, s0 + 1024)
        dist[rows] = np.sqrt(((x64[rows, None, :] - x64[best_i[rows]]) ** 2).sum(2))
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, 1), np.take_along_axis(best_i, order, 1)


def skdim(r1, r2):
    """scikit-dimension's TwoNN fit."""
    n = len(r1)
    mu = np.sort(r2 / r1)[: int(n * (1 - 0.1))]
    f = np.arange(len(mu)) / n
    x, y = np.log(mu), -np.log(1 - f)
    return float(x @ y / (x @ x))


def twonn_protocol(x, subsets, k, margin, block):
    """The ReFO protocol on an already drawn sample: normalize, neighbours once, then each subset's two nearest
    surviving members from the lists (a fresh exact search where fewer than two survive)."""
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    dist, ids = k_nearest(x, k, margin, block)
    estimates, researched = [], 0
    for members in subsets:
        member = np.zeros(len(x), bool)
        member[members] = True
        survives = member[ids]
        rank = np.cumsum(survives, 1)
        r1 = np.where(survives & (rank == 1), dist, 0).sum(1)
        r2 = np.where(survives & (rank == 2), dist, 0).sum(1)
        lacking = np.flatnonzero((rank[:, -1] < 2) & member)
        researched += len(lacking)
        if len(lacking):
            s = x[lacking] @ x.T
            s[:, ~member] = -np.inf
            s[np.arange(len(lacking)), lacking] = -np.inf
            cand = np.argpartition(-s, 2 + margin - 1, axis=1)[:, : 2 + margin]
            d = np.sqrt(((x[lacking, None, :].astype(np.float64) - x[cand].astype(np.float64)) ** 2).sum(2))
            d.sort(1)
            r1[lacking], r2[lacking] = d[:, 0], d[:, 1]
        estimates.append(skdim(r1[members], r2[members]))
    return estimates, researched


def main():
    task, folder = sys.argv[1], sys.argv[2]
    x = np.load(f"{folder}/embeddings.npy")
    if task == "all-vs-all":
        bins, block = int(sys.argv[3]), int(sys.argv[4])
        labels = np.load(f"{folder}/labels.npy")
        t0, c0 = time.perf_counter(), time.process_time()
        genuine, impostor = all_vs_all(x, labels, bins, block)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        result = {"genuine": genuine.tolist(), "impostor": impostor.tolist()}
    elif task == "twonn":
        k, margin, block = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        subsets = np.load(f"{folder}/subsets.npy")
        t0, c0 = time.perf_counter(), time.process_time()
        estimates, researched = twonn_protocol(x, subsets, k, margin, block)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        result = {"estimates": estimates, "researched": researched}
    else:
        raise SystemExit(f"eval_numpy.py: unknown task {task!r} (expected all-vs-all or twonn)")
    print(json.dumps({"seconds": seconds, "cpuSeconds": cpu, "numpy": np.__version__, "blas": blas_info(), **result}))


if __name__ == "__main__":
    main()
