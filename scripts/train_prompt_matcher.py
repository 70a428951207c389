#!/usr/bin/env python3
"""Trains the Imagine cache's learned prompt matcher (AerieText's PromptMatcher, method `learned`): a logistic
regression on the features `aerie imagine calibrate --features` writes for labelled prompt pairs, with numpy only.

    .venv/bin/python scripts/train_prompt_matcher.py              # writes Sources/AerieText/Resources/prompt-matcher.json
    .venv/bin/python scripts/train_prompt_matcher.py --out x.json # elsewhere (the Swift test compares it with the shipped file)

The features come from the training sets only: the three written for training and the first three holdouts, retired
into training once scored (never paraphrase-holdout-4.csv or paraphrase-holdout-5.csv). Writing them needs MiniLM and
Debian's WordNet (wordnet-base):

    aerie imagine calibrate data/imagine/calibration-pairs.csv data/imagine/calibration-holdout.csv \\
        data/imagine/paraphrase-training.csv data/imagine/paraphrase-holdout.csv data/imagine/paraphrase-holdout-2.csv \\
        data/imagine/paraphrase-holdout-3.csv --features data/imagine/matcher-features.csv

Pairs a hard rule vetoes (column `veto`) never reach the scorer and are left out of the fit; they count as misses
when the cut is chosen. Deterministic: Newton's method (IRLS) on standardised features with an L2 penalty, fixed
folds, numbers rounded to 6 decimals, so retraining on the same features gives the same file.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "data/imagine/matcher-features.csv"
OUT = ROOT / "Sources/AerieText/Resources/prompt-matcher.json"
NAMES = [
    "cosine", "align_min", "align_second_min", "align_mean", "align_f1", "length_difference",
    "relation_one", "style_both", "style_one", "attribute_one", "substitution", "differing_words",
    "content_min", "content_mean", "mutual_substitution", "substitution_similarity", "unaligned_words",
    "lexical_antonym", "lexical_covered", "lexical_hypernym", "lexical_sibling", "lexical_unknown",
]
L2 = 1.0  # penalty on the standardised weights (the intercept is free)
FOLDS = 5
TARGET_FALSE_HIT = 0.01  # the cut is the lowest whose cross-validated false-hit rate stays at or below this
CUTS = [round(0.30 + 0.01 * i, 2) for i in range(66)]  # 0.30 … 0.95
MINIMUM_SIMILARITY = 0.6  # candidates below this cosine are not scored (a miss)


def read(path):
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    missing = [name for name in NAMES if name not in rows[0]]
    if missing:
        sys.exit(f"{path} lacks the feature columns {missing}; write it again with `aerie imagine calibrate … --features`.")
    X = np.array([[float(row[name]) for name in NAMES] for row in rows], dtype=np.float64)
    y = np.array([int(row["same"]) for row in rows], dtype=np.float64)
    vetoed = np.array([bool(row["veto"]) for row in rows])
    return X, y, vetoed


def fit(X, y):
    """Weights and intercept on the raw features: IRLS on standardised columns, the scaling folded back."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = np.hstack([(X - mean) / scale, np.ones((len(X), 1))])
    w = np.zeros(Z.shape[1])
    penalty = np.full(Z.shape[1], L2)
    penalty[-1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(Z @ w)))
        gradient = Z.T @ (p - y) + penalty * w
        hessian = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    weights = w[:-1] / scale
    bias = w[-1] - float(np.sum(w[:-1] * mean / scale))
    return weights, bias


def probability(X, weights, bias):
    return 1.0 / (1.0 + np.exp(-(X @ weights + bias)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", default=str(FEATURES))
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()

    X, y, vetoed = read(args.features)
    scored = ~vetoed & (X[:, 0] >= MINIMUM_SIMILARITY)
    positives = int(y.sum())
    negatives = int(len(y) - positives)

    # Cross-validated probabilities on fixed folds (row index modulo FOLDS), for the cut.
    folds = np.arange(len(y)) % FOLDS
    held_out = np.zeros(len(y))
    for fold in range(FOLDS):
        train = scored & (folds != fold)
        weights, bias = fit(X[train], y[train])
        test = scored & (folds == fold)
        held_out[test] = probability(X[test], weights, bias)

    def rates(cut, p):
        hit = scored & (p >= cut)
        return float((hit & (y == 1)).sum()) / positives, float((hit & (y == 0)).sum()) / negatives

    cut = next((c for c in CUTS if rates(c, held_out)[1] <= TARGET_FALSE_HIT), CUTS[-1])
    cv_recall, cv_false_hit = rates(cut, held_out)
    weights, bias = fit(X[scored], y[scored])
    fit_recall, fit_false_hit = rates(cut, probability(X, weights, bias))

    model = {
        "features": NAMES,
        "weights": [round(float(w), 6) for w in weights],
        "bias": round(float(bias), 6),
        "cut": cut,
        "minimum_similarity": MINIMUM_SIMILARITY,
        "training": {
            "features": str(Path(args.features).resolve().relative_to(ROOT)) if Path(args.features).resolve().is_relative_to(ROOT) else args.features,
            "pairs": len(y), "same": positives, "different": negatives, "scored": int(scored.sum()),
            "l2": L2, "folds": FOLDS, "target_false_hit": TARGET_FALSE_HIT,
            "cross_validated": {"recall": round(cv_recall, 4), "false_hit": round(cv_false_hit, 4)},
            "fit": {"recall": round(fit_recall, 4), "false_hit": round(fit_false_hit, 4)},
        },
    }
    Path(args.out).write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(f"cut {cut}: cross-validated recall {cv_recall:.3f}, false-hit {cv_false_hit:.3f} "
          f"(on the whole fit: {fit_recall:.3f}, {fit_false_hit:.3f}); wrote {args.out}")


if __name__ == "__main__":
    main()
