#!/usr/bin/env python3
"""`make fuzz` (API part): schemathesis against `/openapi.json` of a real `aerie serve` with every app and its models,
signed in as a plain user and then as the admin, many generated cases per operation (the bounded run in `make test`
uses 3), with the checks not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance. Writes docs/fuzzing.md (the report: cases and failures per role, every failure with
schemathesis' reproduction) and docs/fuzzing.json. Exits non-zero when anything failed.

    .venv/bin/python scripts/fuzz_api.py --bin .build/debug/aerie --examples 30
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from datetime import date
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "e2e"))
os.environ.setdefault("AERIE_BIN", str(REPO / ".build" / "debug" / "aerie"))
from conftest import Server, data_with_models  # noqa: E402

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def run_role(role, workdir, examples, seed):
    data = data_with_models(workdir / role / "data")
    server = Server(data, extra_args=["--rate-limit", "0", "--allow-signup"]).start()
    try:
        if role == "user":
            created = requests.post(server.url + "/v1/auth/signup", json={"username": "fuzzer", "password": "fuzzer-long-password"}, timeout=10)
            created.raise_for_status()
            token = server.login("fuzzer", "fuzzer-long-password")
        else:
            token = server.login()
        junit = workdir / f"{role}.xml"
        command = [str(Path(sys.executable).parent / "schemathesis"), "run", server.url + "/openapi.json",
                   "-H", f"Authorization: Bearer {token}", "-c", CHECKS, "-n", str(examples),
                   "--phases", "examples,coverage,fuzzing", "--request-timeout", "60", "--seed", str(seed), "--no-color",
                   "--report", "junit", "--report-junit-path", str(junit)]
        print(f"==> {role}: schemathesis with {examples} examples per operation", flush=True)
        started = time.monotonic()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env={**os.environ, "NO_COLOR": "1"})
        seconds = time.monotonic() - started
        still_signed_in = requests.get(server.url + "/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    finally:
        server.stop()
    output = completed.stdout
    cases = re.search(r"(\d+) generated", output)
    operations = re.search(r"Tested:\s+(\d+)", output) or re.search(r"(\d+) tested", output)
    failures = []
    if junit.exists():
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            for failure in list(case.iter("failure")) + list(case.iter("error")):
                failures.append({"operation": case.get("name"), "message": (failure.get("message") or failure.text or "").strip()[:2000]})
    return {"role": role, "examples_per_operation": examples, "seed": seed, "seconds": round(seconds, 1),
            "operations": int(operations.group(1)) if operations else None, "cases": int(cases.group(1)) if cases else None,
            "exit_code": completed.returncode, "failures": failures, "still_signed_in": still_signed_in,
            "warnings": [line.strip().lstrip("⚠️").strip() for line in output.splitlines() if line.strip().startswith("⚠")],
            "summary": "\n".join(output.rstrip().splitlines()[-25:])}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.environ["AERIE_BIN"])
    parser.add_argument("--examples", type=int, default=30, help="generated cases per operation and phase (make test: 3)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--out", default=str(REPO / "docs"))
    args = parser.parse_args()
    os.environ["AERIE_BIN"] = str(Path(args.bin).resolve())
    workdir = Path(tempfile.mkdtemp(prefix="aerie-fuzz-"))
    results = [run_role(role, workdir, args.examples, args.seed) for role in ("user", "admin")]
    report = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
              "binary": args.bin, "checks": CHECKS.split(","), "runs": results}
    out = Path(args.out)
    (out / "fuzzing.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# API fuzzing report (`make fuzz-api`, part of `make fuzz`)", "",
             f"{report['date']}, {report['machine']}, binary `{args.bin}`. schemathesis against `/openapi.json` of `aerie serve`",
             "with every app and its models, rate limit off, phases examples, coverage and fuzzing, checks "
             + ", ".join(f"`{c}`" for c in report["checks"]) + ". The admin run cannot lock itself out or break the apps: disabling",
             "yourself, deleting a built-in function and deleting an app's bucket, queue or collection are refused with 409.", "",
             "| signed in as | examples per operation | operations | generated cases | failures | seconds | token still valid after |",
             "|---|---|---|---|---|---|---|"]
    for run in results:
        lines.append(f"| {run['role']} | {run['examples_per_operation']} | {run['operations']} | {run['cases']} | {len(run['failures'])} | {run['seconds']} | {'yes' if run['still_signed_in'] else 'no'} |")
    lines += ["", "schemathesis' warnings (operations it could not get past authorization or test data with generated input;",
              "the user run is refused the admin-only operations by design):", ""]
    for run in results:
        lines += [f"- as {run['role']}: {warning}" for warning in run["warnings"]]
    for run in results:
        if run["failures"]:
            lines += ["", f"## Failures as {run['role']}", ""]
            lines += [f"- `{f['operation']}`: {f['message'].splitlines()[0] if f['message'] else ''}" for f in run["failures"]]
    lines += ["", "Every failure found becomes a fixed bug or a documented, tested status; the bounded run in `make test`",
              "(e2e/test_fuzz_api.py, 3 examples) keeps them fixed.", ""]
    (out / "fuzzing.md").write_text("\n".join(lines))
    print("\n".join(lines))
    sys.exit(0 if all(run["exit_code"] == 0 and not run["failures"] for run in results) else 1)


if __name__ == "__main__":
    main()
