"""hyperdefrag check against a real defrag, side by side: for each file, the
estimated compacted size (`hyperdefrag check --json`) and the size of the
output `hyperdefrag -o` actually writes (the mean of 3 runs, with their
range: a defrag's own output varies by a few percent), the error as a share of
the input, and the time of each (check once, defrag the median of 3). docs/CHECK.md keeps the table this prints.

Files: the benchmark's three layouts (bench/run_bench.py's LAYOUTS, made by
build/hyperdefrag-make-fragmented into bench/.cache) in format versions 0 and
2, every .hyper in --fixtures (Tableau's own files), and, for each, the fresh
output of hyperdefrag itself (a file that is not fragmented). For a version-0
file the version-2 estimate is compared with `hyperdefrag --target-version 2`.

    python3 bench/check_accuracy.py --size small      # about 10 MB a layout
    python3 bench/check_accuracy.py --size quick      # about 100 MB a layout
    python3 bench/check_accuracy.py --size default --versions 2 --layouts wide-1
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run_bench import LAYOUTS  # noqa: E402  (rows per layout and size)

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# A tenth of "quick", for a run of a few minutes.
SMALL = {name: spec["rows"]["quick"] // 10 for name, spec in LAYOUTS.items()}


def rows_for(name: str, size: str) -> int:
    return SMALL[name] if size == "small" else LAYOUTS[name]["rows"][size]


def make_file(name: str, size: str, version: int, cache: pathlib.Path) -> pathlib.Path:
    spec = LAYOUTS[name]
    rows = rows_for(name, size)
    path = cache / f"{name}-{rows}-v{version}.hyper"
    if not path.exists():
        print(f"making {path.name} ...", file=sys.stderr, flush=True)
        temp = path.with_suffix(".tmp.hyper")
        temp.unlink(missing_ok=True)
        subprocess.run([str(BUILD / "hyperdefrag-make-fragmented"), str(temp), "--layout",
                        spec["layout"], "--tables", str(spec["tables"]), "--rows", str(rows),
                        "--version", str(version)], check=True, stdout=subprocess.DEVNULL)
        temp.rename(path)
    return path


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return seconds, done.stdout


# Defrag runs per file: a defrag's output size itself varies from run to run
# (the engine's parallel scan interleaves rows differently), by up to 5% of a
# compact file; the mean of several runs is what an estimate is held to, as
# in src/check/check_test.cc.
RUNS = 3


def defrag(path: pathlib.Path, output: pathlib.Path, extra: list[str]) -> tuple[float, list[int]]:
    """Median seconds and every output size of RUNS defrags (the last output is kept)."""
    times, sizes = [], []
    for _ in range(RUNS):
        output.unlink(missing_ok=True)
        seconds, _ = timed([str(BUILD / "hyperdefrag"), "-q", "-o", str(output), *extra, str(path)])
        times.append(seconds)
        sizes.append(output.stat().st_size)
    return statistics.median(times), sizes


def row(label: str, size: int, estimate: dict, actuals: list[int], check_s: float,
        defrag_s: float) -> str:
    actual = sum(actuals) / len(actuals)
    spread = f" ({min(actuals):,}-{max(actuals):,})" if min(actuals) != max(actuals) else ""
    error = (estimate["size"] - actual) / size * 100
    return (f"| {label} | {size:,} | {estimate['format_version']} | {estimate['size']:,} "
            f"± {estimate['uncertainty']:,} | {actual:,.0f}{spread} | {error:+.1f}% | "
            f"{estimate['saving_percent']:.1f}% | {(size - actual) / size * 100:.1f}% | "
            f"{check_s:.2f} | {defrag_s:.2f} | {check_s / defrag_s:.2f} |")


def compare(label: str, path: pathlib.Path, scratch: pathlib.Path, keep_output: bool) -> pathlib.Path:
    size = path.stat().st_size
    check_s, out = timed([str(BUILD / "hyperdefrag"), "check", "--json", str(path)])
    checked = json.loads(out)["files"][0]["checks"][0]
    output = scratch / f"out-{path.stem}.hyper"
    defrag_s, actual = defrag(path, output, [])
    print(row(label, size, checked["estimate"], actual, check_s, defrag_s), flush=True)
    if checked["estimate_as_version_2"]:
        v2_out = scratch / f"out-{path.stem}-v2.hyper"
        v2_s, v2 = defrag(path, v2_out, ["--target-version", "2"])
        print(row(f"{label} as version 2", size, checked["estimate_as_version_2"], v2, check_s,
                  v2_s), flush=True)
        v2_out.unlink()
    if not keep_output:
        output.unlink()
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description="hyperdefrag check against a real defrag")
    parser.add_argument("--size", choices=["small", "quick", "default", "large"], default="small")
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    parser.add_argument("--versions", nargs="*", type=int, default=[0, 2])
    parser.add_argument("--fixtures", type=pathlib.Path, default=ROOT.parent / "shared" / "fixtures")
    parser.add_argument("--cache", type=pathlib.Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"# hyperdefrag check against a real defrag, size {args.size}")
    print(f"machine: {platform.node()}, {os.cpu_count()} cores (shared: times are indicative)")
    print(f"command: {' '.join(sys.argv)}\n")
    print("| file | input bytes | version | estimate ± uncertainty | actual output, mean of 3 (range) | "
          "error / input | est. saving | actual saving | check s | defrag s | check / defrag |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    files: list[tuple[str, pathlib.Path]] = []
    for name in args.layouts:
        for version in args.versions:
            files.append((f"{name} v{version} ({rows_for(name, args.size):,} rows/table)",
                          make_file(name, args.size, version, args.cache)))
    if args.fixtures.is_dir():
        files += [(f"shared/fixtures/{p.name}", p) for p in sorted(args.fixtures.glob("*.hyper"))]
    with tempfile.TemporaryDirectory(prefix="hyperdefrag-check-", dir=args.cache) as scratch:
        scratch_dir = pathlib.Path(scratch)
        for label, path in files:
            output = compare(label, path, scratch_dir, keep_output=True)
            # The fresh output is not fragmented: its saving must be near 0.
            compacted = scratch_dir / f"compact-{path.stem}.hyper"
            output.rename(compacted)
            compare(f"{label}, compacted", compacted, scratch_dir, keep_output=False)
            compacted.unlink()


if __name__ == "__main__":
    main()
