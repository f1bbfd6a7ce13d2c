"""Side-by-side benchmark: hyperdefrag against Tableau's sample method, the
engine's own CREATE DATABASE ... FROM, and cp (the floor set by the disk).

Each layout's fragmented file is made once (bench/.cache, by
build/hyperdefrag-make-fragmented). Then, for each run, the four methods run
one after another, in a rotating order, on the same file with the same hyperd
binary. Printed per layout: median wall time with min and max, output size,
peak resident memory of the method's own process and of its hyperd, the CPU
seconds its hyperd used and how many of the machine's cores that kept busy on
average over the run (CPU / wall: near the core count, the engine had no core
to spare for more parallel work), and the ratios hyperdefrag/sample and
hyperdefrag/cp.

    .venv/bin/python bench/run_bench.py --size quick       # about 100 MB a layout
    .venv/bin/python bench/run_bench.py                    # about 1 GB a layout
    .venv/bin/python bench/run_bench.py --size large       # about 4 GB a layout
"""

import argparse
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
PYTHON = pathlib.Path(sys.executable)  # the Python running this (the one holding tableauhyperapi)

# Rows per table for each layout and size, chosen so that each fragmented file
# is about 100 MB (quick), 1 GB (default) or 4 GB (large). Bytes per row were
# measured on the fragmented files (extract-like shapes compress to ~35 B a
# row, the wide shape to ~85 B; each table costs ~250 KB on its own).
LAYOUTS = {
    "wide-1": {"layout": "wide", "tables": 1,
               "rows": {"quick": 1_250_000, "default": 12_500_000, "large": 50_000_000}},
    "mixed-8": {"layout": "mixed", "tables": 8,
                "rows": {"quick": 330_000, "default": 3_300_000, "large": 13_200_000}},
    "small-500": {"layout": "mixed", "tables": 500,
                  "rows": {"quick": 1_000, "default": 45_000, "large": 180_000}},
}


def hyperd_path() -> pathlib.Path:
    out = subprocess.run([str(PYTHON), "-c",
                          "import tableauhyperapi, os; print(os.path.dirname(tableauhyperapi.__file__))"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return pathlib.Path(out) / "bin" / "hyper" / "hyperd"


def status_kib(pid: int) -> dict:
    """VmHWM (peak resident), RssAnon (the process's own memory) and RssFile
    (mapped file pages, which the kernel can drop) of a process, in KiB."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key = line.split(":", 1)[0]
                if key in ("VmHWM", "RssAnon", "RssFile"):
                    found[key] = int(line.split()[1])
    except OSError:
        pass
    return found


def peak_kib(pid: int) -> int:
    return status_kib(pid).get("VmHWM", 0)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds a process has used so far (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return None


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def run_measured(command: list[str], cwd: pathlib.Path) -> dict:
    """Runs command; returns wall seconds and peak RSS (KiB) of it and of its hyperd, the
    hyperd's peak RssAnon and RssFile, and the CPU seconds its hyperd used (sampled every
    20 ms: the CPU of the last 20 ms before the engine exits is not counted)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tool_peak = engine_peak = anon_peak = file_peak = 0
    engines: set[int] = set()
    engine_cpu: dict[int, float] = {}
    while process.poll() is None:
        tool_peak = max(tool_peak, peak_kib(process.pid))
        engines.update(children(process.pid))
        for engine in engines:
            cpu = cpu_seconds(engine)
            if cpu is not None:
                engine_cpu[engine] = cpu
            status = status_kib(engine)
            engine_peak = max(engine_peak, status.get("VmHWM", 0))
            anon_peak = max(anon_peak, status.get("RssAnon", 0))
            file_peak = max(file_peak, status.get("RssFile", 0))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed: {process.stderr.read().decode(errors='replace')}")
    return {"seconds": seconds, "tool_kib": tool_peak, "engine_kib": engine_peak,
            "anon_kib": anon_peak, "file_kib": file_peak, "engine_cpu": sum(engine_cpu.values())}


def make_fixture(name: str, size: str, cache: pathlib.Path, rows: int | None = None) -> pathlib.Path:
    spec = LAYOUTS[name]
    rows = rows or spec["rows"][size]
    path = cache / f"{name}-{rows}.hyper"
    if not path.exists():
        print(f"making {path.name} ...", flush=True)
        temp = path.with_suffix(".tmp.hyper")
        temp.unlink(missing_ok=True)
        subprocess.run([str(BUILD / "hyperdefrag-make-fragmented"), str(temp), "--layout",
                        spec["layout"], "--tables", str(spec["tables"]), "--rows", str(rows)],
                       check=True, stdout=subprocess.DEVNULL)
        temp.rename(path)
    return path


def methods(hyperd: pathlib.Path, extra: list[str], version: int | None,
            other: pathlib.Path | None) -> dict:
    versioned = ["--target-version", str(version)] if version is not None else []
    table = {
        "hyperdefrag": lambda i, o: [str(BUILD / "hyperdefrag"), "--hyperd", str(hyperd), "-o", str(o),
                                     str(i), *versioned, *extra],
        "sample": lambda i, o: [str(PYTHON), str(ROOT / "bench" / "sample_defragment.py"), str(i),
                                "-o", str(o), "--hyperd", str(hyperd)],
        "CREATE DATABASE FROM": lambda i, o: [str(PYTHON), str(ROOT / "bench" / "engine_copy.py"),
                                             str(i), str(o), "--hyperd", str(hyperd),
                                             *(["--version", str(version)] if version is not None
                                               else [])],
        "cp": lambda i, o: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', str(i), str(o)],
    }
    if other is not None:
        table["other hyperdefrag"] = lambda i, o: [str(other), "--hyperd", str(hyperd), "-o", str(o),
                                                   str(i), *versioned, *extra]
    return table


def load() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def fmt_range(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description="hyperdefrag side-by-side benchmark")
    parser.add_argument("--size", choices=["quick", "default", "large"], default="default")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    parser.add_argument("--cache", type=pathlib.Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--hyperdefrag-arg", action="append", default=[],
                        help="extra argument for hyperdefrag (repeatable)")
    parser.add_argument("--target-version", type=int,
                        help="write this format version (hyperdefrag --target-version, CREATE "
                             "DATABASE ... WITH VERSION n FROM)")
    parser.add_argument("--other", type=pathlib.Path,
                        help="another hyperdefrag binary (another build) to run side by side")
    parser.add_argument("--rows", type=int,
                        help="rows per table before fragmenting, instead of the size's")
    parser.add_argument("--methods", nargs="*",
                        help="only these methods (default: all); ratios need hyperdefrag and the "
                             "one compared")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    hyperd = hyperd_path()
    version = subprocess.run([str(hyperd), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"# hyperdefrag benchmark, size {args.size}, {args.runs} runs")
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; {version}")
    print(f"command: {' '.join(sys.argv)}\n")
    table = methods(hyperd, args.hyperdefrag_arg, args.target_version, args.other)
    if args.methods:
        table = {name: command for name, command in table.items() if name in args.methods}
    for name in args.layouts:
        fixture = make_fixture(name, args.size, args.cache, args.rows)
        size_in = fixture.stat().st_size
        load_before = load()
        results: dict[str, list[dict]] = {method: [] for method in table}
        out_sizes: dict[str, int] = {}
        with tempfile.TemporaryDirectory(prefix="hyperdefrag-bench-", dir=args.cache) as scratch:
            scratch_dir = pathlib.Path(scratch)
            order = list(table)
            for run in range(args.runs):
                for method in order[run % len(order):] + order[:run % len(order)]:
                    output = scratch_dir / f"out-{method.replace(' ', '_')}.hyper"
                    output.unlink(missing_ok=True)
                    results[method].append(run_measured(table[method](fixture, output), scratch_dir))
                    out_sizes[method] = output.stat().st_size
                    output.unlink()
        spec = LAYOUTS[name]
        print(f"## {name}: {spec['tables']} table(s), {args.rows or spec['rows'][args.size]:,} rows each before "
              f"fragmenting, input {size_in:,} bytes ({size_in / 2**20:.0f} MiB)\n")
        print("| method | wall s, median (min-max) | output bytes | output / input "
              "| peak RSS tool MiB | peak RSS hyperd MiB | hyperd RssAnon MiB | hyperd RssFile MiB "
              "| hyperd CPU s | hyperd cores busy |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for method, runs in results.items():
            times = [r["seconds"] for r in runs]
            print(f"| {method} | {fmt_range(times)} | {out_sizes[method]:,} | "
                  f"{out_sizes[method] / size_in:.2f} | {max(r['tool_kib'] for r in runs) / 1024:.0f} | "
                  f"{max(r['engine_kib'] for r in runs) / 1024:.0f} | "
                  f"{max(r['anon_kib'] for r in runs) / 1024:.0f} | "
                  f"{max(r['file_kib'] for r in runs) / 1024:.0f} | "
                  f"{statistics.median(r['engine_cpu'] for r in runs):.2f} | "
                  f"{statistics.median(r['engine_cpu'] / r['seconds'] for r in runs):.2f} |")
        median = {m: statistics.median(r["seconds"] for r in runs) for m, runs in results.items()}
        print(f"\nload (1, 5, 15 min) before: {load_before}; after: {load()}")
        if "hyperdefrag" in median:
            ours = median["hyperdefrag"]
            ratios = [f"hyperdefrag/{m} {ours / t:.2f}" for m, t in median.items() if m != "hyperdefrag"]
            sizes = [f"hyperdefrag/{m} {out_sizes['hyperdefrag'] / out_sizes[m]:.2f}"
                     for m in ("sample", "CREATE DATABASE FROM") if m in out_sizes]
            print(f"ratios: time {', '.join(ratios)}; size {', '.join(sizes)}; "
                  f"time per GB of input: hyperdefrag {ours / (size_in / 2**30):.1f} s; "
                  f"per table: hyperdefrag {ours / spec['tables'] * 1000:.0f} ms\n", flush=True)


if __name__ == "__main__":
    main()
