#!/usr/bin/env python3
"""Writes the Iris data set (public domain, Fisher 1936) as a CSV test fixture.

Run from the repo root with the project venv:  .venv/bin/python scripts/make_iris_fixture.py
It reads scikit-learn's bundled copy, so nothing is downloaded.
"""
import csv
import pathlib

from sklearn.datasets import load_iris

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/AerieMLTests/Fixtures/iris.csv"
iris = load_iris()
out.parent.mkdir(parents=True, exist_ok=True)
with out.open("w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
    for row, target in zip(iris.data, iris.target):
        w.writerow([f"{v:g}" for v in row] + [iris.target_names[target]])
print(f"wrote {out}")
