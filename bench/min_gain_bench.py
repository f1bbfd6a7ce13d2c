"""--min-gain, measured side by side: a first `hyperdefrag -r --in-place
--min-gain 5% DIR` over fragmented files, then a second one right after it
(every file now a fresh output carrying hyperdefrag's note), then a third
over plain copies of those outputs (no note: check's estimate decides); and,
for the cost of --min-gain on files worth compacting, the same first run
without --min-gain on another fresh copy.

Files: the benchmark's three layouts (bench/run_bench.py's LAYOUTS, made by
build/hyperdefrag-make-fragmented into bench/.cache), copied into one
directory under $TMPDIR. Each of --runs rounds starts from fresh copies.
Printed per round: the three wall times, the files each skipped, and the
ratios second/first (the goal is at most 5%) and third/first.

    python3 bench/min_gain_bench.py --size small      # about 10 MB a layout
    python3 bench/min_gain_bench.py --size quick      # about 100 MB a layout
"""

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from check_accuracy import make_file, rows_for  # noqa: E402
from run_bench import LAYOUTS  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def run(directory: pathlib.Path, threshold: str | None) -> tuple[float, int, int]:
    """One `hyperdefrag -r --in-place [--min-gain]`; wall seconds, files, files skipped."""
    gain = ["--min-gain", threshold] if threshold else []
    command = [str(BUILD / "hyperdefrag"), "-r", "--in-place", *gain, "--json", str(directory)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    files = json.loads(done.stdout)["files"]
    return seconds, len(files), sum(1 for f in files if f["skipped"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["small", "quick", "default", "large"], default="small")
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--min-gain", default="5%")
    parser.add_argument("--cache", type=pathlib.Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    sources = [make_file(name, args.size, 2, args.cache) for name in args.layouts]
    total = sum(s.stat().st_size for s in sources)
    print(f"# --min-gain {args.min_gain}, size {args.size}: "
          + ", ".join(f"{n} ({rows_for(n, args.size):,} rows/table)" for n in args.layouts)
          + f"; {total:,} bytes in all")
    print(f"# {platform.node()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    print("| round | without --min-gain s | first run s (skipped) | second run s (skipped) "
          "| second / first | third run, copies without the note, s (skipped) | third / first |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratios = []
    for round_ in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="hyperdefrag-min-gain-bench-") as scratch:
            without = pathlib.Path(scratch) / "without"
            directory = pathlib.Path(scratch) / "extracts"
            for target in (without, directory):
                target.mkdir()
                for source in sources:
                    shutil.copyfile(source, target / source.name)
            baseline = run(without, None)
            shutil.rmtree(without)
            first = run(directory, args.min_gain)
            second = run(directory, args.min_gain)
            plain = pathlib.Path(scratch) / "plain"
            plain.mkdir()
            for output in directory.glob("*.hyper"):
                if ".bak." not in output.name:
                    shutil.copyfile(output, plain / output.name)  # no extended attributes
            third = run(plain, args.min_gain)
        ratios.append(second[0] / first[0])
        print(f"| {round_} | {baseline[0]:.2f} | {first[0]:.2f} ({first[2]} of {first[1]}) "
              f"| {second[0]:.3f} ({second[2]} of {second[1]}) | {second[0] / first[0]:.1%} "
              f"| {third[0]:.2f} ({third[2]} of {third[1]}) | {third[0] / first[0]:.0%} |",
              flush=True)
    print(f"\nsecond / first: median {statistics.median(ratios):.1%}, "
          f"max {max(ratios):.1%} (goal: at most 5%)")


if __name__ == "__main__":
    main()
