#!/usr/bin/env python3
"""Tabular ML benchmark: Aerie's native Swift engine next to scikit-learn, in one run.

Usage (from the repo root; `make bench-tabular` does all of this):
    .venv/bin/python bench/tabular.py --swift-bin .build/release/aerie-bench-tabular

Data: make_classification(n_samples=100_000, n_features=20, n_informative=10, random_state=0),
split 80/20 (20k test rows for batch prediction); the RBF SVM uses a 10k-row subsample
(8k train / 2k test); plus Iris (120 / 30) and the Palmer penguins CSV (palmerpenguins package:
missing values, categorical columns; 275 training rows of which 267 complete, 66 complete test
rows). Both sides get the same data and splits, and the same preprocessing (standard scaling for
logistic regression and SVM, one-hot categories for the penguins, none for the others).

Reports fit time (one fit), batch predict time (best of 3 runs on both sides, since the machine is
shared), median single-row predict latency, accuracy and model file
size (Swift's file vs sklearn's pickle) with Swift/sklearn ratios, as bench/results/tabular.json
and bench/results/tabular.md.

Every case runs at each thread count of --threads (default 1 and 2): scikit-learn with
n_jobs=N and its BLAS/OpenMP pools limited to N through threadpoolctl (or, without threadpoolctl,
OMP_NUM_THREADS/OPENBLAS_NUM_THREADS set before numpy loads, to the largest count), the Swift
engine with --threads N and OPENBLAS_NUM_THREADS=N.
"""
import argparse
import json
import os
import pathlib
import pickle
import platform
import subprocess
import tempfile
import time

import sys

if __name__ == "__main__":
    # Without threadpoolctl, BLAS pools can only be sized before numpy loads: use the largest count.
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        _counts = [a.split("=", 1)[1] if a.startswith("--threads=") else None for a in sys.argv]
        _value = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--threads"), None)
        _value = _value or next((c for c in _counts if c), None) or "1,2"
        _top = str(max(int(v) for v in _value.split(",") if v))
        for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_name] = _top

import contextlib

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the environment variables above apply instead
    threadpool_limits = None

ROOT = pathlib.Path(__file__).resolve().parent.parent
LATENCY_ROWS = 200
BATCH_REPEATS = 3


def write_csv(path, x, y):
    names = [f"f{i}" for i in range(x.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(names + ["y"]) + "\n")
        for row, label in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")


def with_jobs(estimator, threads):
    """A fresh copy of `estimator` with every n_jobs parameter (pipeline steps included) set to threads."""
    estimator = clone(estimator)
    jobs = {k: threads for k in estimator.get_params() if k == "n_jobs" or k.endswith("__n_jobs")}
    if jobs:
        estimator.set_params(**jobs)
    return estimator


def sklearn_run(name, estimator, xtr, ytr, xte, yte, workdir, threads):
    limits = threadpool_limits(limits=threads) if threadpool_limits else contextlib.nullcontext()
    with limits:
        return sklearn_measure(name, with_jobs(estimator, threads), xtr, ytr, xte, yte, workdir)


def sklearn_measure(name, estimator, xtr, ytr, xte, yte, workdir):
    t = time.perf_counter()
    estimator.fit(xtr, ytr)
    fit = time.perf_counter() - t
    batch = float("inf")
    for _ in range(BATCH_REPEATS):  # best of a few: the machine is shared, and both sides do the same
        t = time.perf_counter()
        pred = estimator.predict(xte)
        batch = min(batch, time.perf_counter() - t)
    latencies = []
    for i in range(min(LATENCY_ROWS, len(xte))):
        row = xte[i : i + 1]
        t = time.perf_counter()
        estimator.predict(row)
        latencies.append(time.perf_counter() - t)
    path = pathlib.Path(workdir) / f"{name}.pkl"
    with open(path, "wb") as f:
        pickle.dump(estimator, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "fit_seconds": fit,
        "batch_predict_seconds": batch,
        "single_row_latency_seconds": float(np.median(latencies)),
        "accuracy": float(np.mean(pred == yte)),
        "model_bytes": path.stat().st_size,
    }


def swift_run(binary, name, model, params, train_csv, test_csv, target, workdir, threads):
    cmd = [binary, "--train", train_csv, "--test", test_csv, "--target", target, "--model", model, "--threads", str(threads),
           "--latency-rows", str(LATENCY_ROWS), "--batch-repeats", str(BATCH_REPEATS), "--out", str(pathlib.Path(workdir) / f"{name}.aerieml")]
    for p in params:
        cmd += ["--param", p]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swift-bin", default=str(ROOT / ".build/release/aerie-bench-tabular"))
    ap.add_argument("--results", default=str(ROOT / "bench/results"))
    ap.add_argument("--samples", type=int, default=100_000, help="rows of the synthetic data set")
    ap.add_argument("--only", default="", help="comma-separated case names to run")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts to run every case at")
    args = ap.parse_args()
    thread_counts = [int(v) for v in args.threads.split(",") if v]

    load_start = os.getloadavg()
    x, y = make_classification(n_samples=args.samples, n_features=20, n_informative=10, random_state=0)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=0)
    xs, ys = x[:10_000], y[:10_000]
    xstr, xste, ystr, yste = train_test_split(xs, ys, test_size=0.2, random_state=0)
    iris = load_iris()
    xitr, xite, yitr, yite = train_test_split(iris.data, iris.target, test_size=0.2, random_state=0, stratify=iris.target)

    # A real CSV with missing values and categorical columns: the Palmer penguins. Training rows
    # keep their missing values (the Swift engine drops such rows itself; sklearn gets the same
    # rows without them); test rows are the complete ones, so both sides predict the same rows.
    from palmerpenguins import load_penguins
    penguins = load_penguins()
    ptr, pte = train_test_split(penguins, test_size=0.2, random_state=0, stratify=penguins["species"])
    ptr_complete, pte = ptr.dropna(), pte.dropna()
    pfeatures = [c for c in penguins.columns if c != "species"]
    penguin_forest = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]), remainder="passthrough"),
        RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0))

    cores = os.cpu_count() or 1
    cases = [
        # name, data, sklearn estimator, swift model, swift params
        ("random_forest", "big", RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0), "random-forest", []),
        ("decision_tree", "big", DecisionTreeClassifier(random_state=0), "decision-tree", []),
        ("logistic_regression", "big", make_pipeline(StandardScaler(), LogisticRegression(max_iter=100)), "logistic-regression", []),
        ("svm_rbf_10k", "svm", make_pipeline(StandardScaler(), SVC(kernel="rbf")), "svm", ["kernel=rbf"]),
        ("naive_bayes", "big", GaussianNB(), "naive-bayes", []),
        ("iris_random_forest", "iris", RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0), "random-forest", []),
        ("iris_logistic_regression", "iris", make_pipeline(StandardScaler(), LogisticRegression(max_iter=100)), "logistic-regression", []),
        ("penguins_random_forest", "penguins", penguin_forest, "random-forest", []),
    ]
    only = set(filter(None, args.only.split(",")))
    rows = []
    with tempfile.TemporaryDirectory(prefix="aerie-bench-tabular-") as work:
        data = {
            "big": (xtr, ytr, xte, yte),
            "svm": (xstr, ystr, xste, yste),
            "iris": (xitr, yitr, xite, yite),
            "penguins": (ptr_complete[pfeatures], ptr_complete["species"], pte[pfeatures], pte["species"]),
        }
        files = {}
        for key, (a, b, c, d) in data.items():
            tr, te = f"{work}/{key}_train.csv", f"{work}/{key}_test.csv"
            if key == "penguins":  # as published, missing values (empty fields) included
                ptr.to_csv(tr, index=False)
                pte.to_csv(te, index=False)
            else:
                write_csv(tr, a, b)
                write_csv(te, c, d)
            files[key] = (tr, te)
        for threads in thread_counts:
            for name, key, estimator, model, params in cases:
                if only and name not in only:
                    continue
                a, b, c, d = data[key]
                print(f"[bench-tabular] {name} at {threads} thread(s): scikit-learn …", flush=True)
                sk = sklearn_run(name, estimator, a, b, c, d, work, threads)
                print(f"[bench-tabular] {name} at {threads} thread(s): swift …", flush=True)
                target = "species" if key == "penguins" else "y"
                sw = swift_run(args.swift_bin, name, model, params, files[key][0], files[key][1], target, work, threads)
                ratios = {k: (sw[k] / sk[k] if sk[k] else None) for k in
                          ["fit_seconds", "batch_predict_seconds", "single_row_latency_seconds", "accuracy", "model_bytes"]}
                rows.append({"case": name, "threads": threads, "train_rows": len(a), "test_rows": len(c),
                             "sklearn": sk, "swift": sw, "swift_over_sklearn": ratios})
                print(json.dumps(rows[-1]), flush=True)
    load_end = os.getloadavg()

    results = pathlib.Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cores": cores, "python": platform.python_version(),
            "sklearn": sklearn.__version__, "numpy": np.__version__, "samples": args.samples,
            "load_average": " / ".join(f"{v:.1f}" for v in load_start),
            "load_average_end": " / ".join(f"{v:.1f}" for v in load_end),
            "threads": thread_counts, "threadpoolctl": threadpool_limits is not None}
    (results / "tabular.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    lines = [
        "# Tabular ML: Aerie (Swift) vs scikit-learn",
        "",
        f"{meta['machine']}, {cores} cores, scikit-learn {meta['sklearn']}, load average {meta['load_average']} at the start "
        f"and {meta['load_average_end']} at the end. "
        "Ratios are Swift / sklearn (below 1: Swift is faster or smaller; accuracy ratio near 1 is parity). "
        f"Fit: one run; batch predict: best of {BATCH_REPEATS} runs on both sides; 1-row latency: median over {LATENCY_ROWS} rows "
        "(in process, preprocessing included on both sides). "
        "Threads: scikit-learn n_jobs=N with BLAS/OpenMP limited to N "
        f"({'threadpoolctl' if meta['threadpoolctl'] else 'environment variables'}); Swift --threads N.",
    ]
    for threads in thread_counts:
        lines += [
            "",
            f"## {threads} thread{'s' if threads != 1 else ''}",
            "",
            "| case | train/test rows | fit s (sk / swift / ratio) | batch predict s (sk / swift / ratio) | 1-row latency ms (sk / swift / ratio) | accuracy (sk / swift) | model bytes (sk / swift / ratio) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            if r["threads"] != threads:
                continue
            sk, sw, q = r["sklearn"], r["swift"], r["swift_over_sklearn"]
            lines.append(
                f"| {r['case']} | {r['train_rows']}/{r['test_rows']} "
                f"| {sk['fit_seconds']:.3f} / {sw['fit_seconds']:.3f} / {q['fit_seconds']:.2f} "
                f"| {sk['batch_predict_seconds']:.4f} / {sw['batch_predict_seconds']:.4f} / {q['batch_predict_seconds']:.2f} "
                f"| {sk['single_row_latency_seconds']*1e3:.3f} / {sw['single_row_latency_seconds']*1e3:.3f} / {q['single_row_latency_seconds']:.2f} "
                f"| {sk['accuracy']:.4f} / {sw['accuracy']:.4f} "
                f"| {sk['model_bytes']} / {sw['model_bytes']} / {q['model_bytes']:.2f} |")
    (results / "tabular.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
