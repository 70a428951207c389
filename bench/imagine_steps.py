#!/usr/bin/env python3
"""Per-step time of the Swift diffusion pipeline next to ONNX Runtime Python on the same ONNX files.

Run by `make bench-imagine-steps` (part of the Imagine benchmarks, not of CI): both sides load the bench
pipeline (scripts/make-diffusion-model.py --preset bench), use the same scheduler, image size, guidance
(7.5, batch 2) and ONNX Runtime thread settings, and time each denoising step after the first of a run
(scale the input, UNet, guidance, scheduler step). Runs alternate between the two sides.
Writes bench/results/imagine-steps.json and bench/results/imagine-steps.md; the target is swift/python <= 1.05.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["step_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--swift-bin", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="the data directory whose ONNX Runtime the Swift side loads (aerie models install onnxruntime)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads on both sides (0: ONNX Runtime default; 1 keeps the shared machine from adding scheduling noise)")
    parser.add_argument("--scheduler", default="euler")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "imagine-steps"))
    args = parser.parse_args()

    common = ["--steps", str(args.steps), "--repeats", "1", "--threads", str(args.threads), "--scheduler", args.scheduler]
    python_cmd = [sys.executable, os.path.join(ROOT, "scripts", "imagine_reference.py"), "bench-steps", args.model] + common
    swift_cmd = [args.swift_bin, args.model, args.data] + common
    swift, python = [], []
    for round_ in range(args.rounds):
        first, second = (swift_cmd, python_cmd) if round_ % 2 == 0 else (python_cmd, swift_cmd)
        for command in (first, second):
            times = run(command)
            (swift if command is swift_cmd else python).extend(times)
            print(f"round {round_ + 1}: {'swift' if command is swift_cmd else 'python'} "
                  f"median {statistics.median(times) * 1000:.1f} ms/step", flush=True)

    with open(os.path.join(args.model, "unet", "config.json")) as f:
        size = json.load(f)["sample_size"] * 8
    result = {
        "benchmark": "imagine per-step time",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "model": os.path.relpath(args.model, ROOT) if args.model.startswith(ROOT) else args.model,
        "image": f"{size}x{size}", "scheduler": args.scheduler, "guidance": 7.5, "batch": 2, "threads": args.threads,
        "steps_timed": {"swift": len(swift), "python": len(python)},
        "swift_ms": {"median": statistics.median(swift) * 1000, "mean": statistics.mean(swift) * 1000, "min": min(swift) * 1000},
        "python_ms": {"median": statistics.median(python) * 1000, "mean": statistics.mean(python) * 1000, "min": min(python) * 1000},
    }
    result["ratio_median"] = result["swift_ms"]["median"] / result["python_ms"]["median"]
    result["ratio_mean"] = result["swift_ms"]["mean"] / result["python_ms"]["mean"]
    result["ratio_min"] = result["swift_ms"]["min"] / result["python_ms"]["min"]
    result["load_average_1m_at_end"] = os.getloadavg()[0]
    result["target_ratio"] = 1.05
    result["meets_target"] = result["ratio_median"] <= 1.05
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    with open(args.out + ".md", "w") as f:
        f.write("# Imagine: per-step time, Swift vs ONNX Runtime Python\n\n")
        f.write(f"{result['date']}, {result['machine']['cpus']} CPUs. Bench preset ({result['model']}), {result['image']} images, "
                f"{args.scheduler}, guidance 7.5 (UNet batch 2), intra-op threads {args.threads or 'default'}; "
                f"{len(swift)} Swift and {len(python)} Python steps over {args.rounds} alternating rounds.\n\n")
        f.write("| side | median ms/step | mean | min |\n|---|---|---|---|\n")
        for name, key in [("Swift (AerieDiffusion)", "swift_ms"), ("Python (onnxruntime + numpy)", "python_ms")]:
            m = result[key]
            f.write(f"| {name} | {m['median']:.1f} | {m['mean']:.1f} | {m['min']:.1f} |\n")
        f.write(f"\nRatio Swift / Python (medians): **{result['ratio_median']:.3f}** (target ≤ 1.05: "
                f"{'met' if result['meets_target'] else 'not met'}); means {result['ratio_mean']:.3f}, minimums "
                f"{result['ratio_min']:.3f}. Load average at the end: {result['load_average_1m_at_end']:.1f} on "
                f"{result['machine']['cpus']} CPUs (other work on the machine makes single rounds vary by ±20%).\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
