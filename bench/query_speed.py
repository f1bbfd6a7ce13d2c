"""What defragmenting buys when the file is queried: three typical Tableau
queries on the fragmented input and on hyperdefrag's compacted copy of it,
side by side, with the same hyperd.

For each layout of run_bench.py (the same cached fragmented files, made by
build/hyperdefrag-make-fragmented), the compacted copy is made once with
build/hyperdefrag (bench/.cache). Then, in each of --runs rounds and for each
of the two files in turn (alternating which goes first):

- cold: a fresh hyperd, ATTACH of the file (timed: "open"), then each query
  once, on every table of the file (the query's time is the sum over the
  tables);
- warm: the same queries again in the same session, --warm times; the median.

The three queries, on every table (every layout's tables have a BIGINT "id";
the text column is the table's first TEXT column):

- scan: a full-scan aggregate, SELECT COUNT(*), SUM(id), MAX(<text>);
- filter: a selective filter with a count, COUNT(*) WHERE id BETWEEN lo AND
  lo + 1% of the ids (in the middle of the id range);
- group: GROUP BY <text> with COUNT(*) and SUM(id), the 10 largest groups.

Printed per layout: median (min-max) seconds for each file and the speed-up,
fragmented / compacted (above 1: the compacted file is faster; below 1: a
slowdown). "Cold" means a fresh engine and attach; the operating system's page
cache is not dropped (that would disturb everything else on the machine), so
both files are read from memory once cached.

    .venv/bin/python bench/query_speed.py --size quick
    .venv/bin/python bench/query_speed.py               # about 1 GB a layout
"""

import argparse
import pathlib
import statistics
import subprocess
import sys
import time

from tableauhyperapi import Connection, HyperProcess, Telemetry, escape_name

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run_bench import BUILD, LAYOUTS, ROOT, hyperd_path, make_fixture  # noqa: E402

QUERIES = ["scan", "filter", "group"]


def compacted(fixture: pathlib.Path, hyperd: pathlib.Path) -> pathlib.Path:
    path = fixture.with_name(fixture.stem + ".compacted.hyper")
    if not path.exists():
        print(f"compacting {fixture.name} ...", flush=True)
        subprocess.run([str(BUILD / "hyperdefrag"), "-q", "--hyperd", str(hyperd), "-o", str(path),
                        str(fixture)], check=True)
    return path


def workload(connection: Connection) -> dict:
    """Each query's statements, one per table of the database attached as "f"."""
    tables = connection.execute_list_query(
        "SELECT n.nspname, c.relname, c.oid FROM f.pg_catalog.pg_class c "
        "JOIN f.pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "ORDER BY c.oid")
    statements = {query: [] for query in QUERIES}
    for schema, name, oid in tables:
        text = connection.execute_scalar_query(
            "SELECT a.attname FROM f.pg_catalog.pg_attribute a "
            f"WHERE a.attrelid = {int(oid)} AND a.attnum > 0 AND a.atttypid = 25 "
            "ORDER BY a.attnum LIMIT 1")
        table = f"f.{escape_name(schema)}.{escape_name(name)}"
        low, high = connection.execute_list_query(f"SELECT MIN(id), MAX(id) FROM {table}")[0]
        low, high = low or 0, high or 0
        start = low + (high - low) // 2
        width = max(1, (high - low) // 100)
        column = escape_name(text)
        statements["scan"].append(f"SELECT COUNT(*), SUM(id), MAX({column}) FROM {table}")
        statements["filter"].append(
            f"SELECT COUNT(*) FROM {table} WHERE id BETWEEN {start} AND {start + width}")
        statements["group"].append(
            f"SELECT {column}, COUNT(*), SUM(id) FROM {table} GROUP BY {column} "
            "ORDER BY 2 DESC LIMIT 10")
    return statements


def run_once(connection: Connection, statements: list[str]) -> float:
    started = time.perf_counter()
    for statement in statements:
        connection.execute_list_query(statement)
    return time.perf_counter() - started


def measure(path: pathlib.Path, hyperd: pathlib.Path, warm_runs: int) -> dict:
    """One cold round and its warm repetitions on `path`, in a fresh hyperd."""
    result = {}
    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      hyper_path=hyperd.parent,
                      parameters={"log_config": ""}) as hyper:
        with Connection(hyper.endpoint) as connection:
            started = time.perf_counter()
            connection.execute_command(
                f"ATTACH DATABASE {escape_name(str(path))} AS f WITH (access_mode = 'readonly')")
            result["open"] = time.perf_counter() - started
            statements = workload(connection)
            for query in QUERIES:
                result[f"{query} cold"] = run_once(connection, statements[query])
            for query in QUERIES:
                result[f"{query} warm"] = statistics.median(
                    run_once(connection, statements[query]) for _ in range(warm_runs))
    return result


def fmt_range(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description="query speed before and after defragmenting")
    parser.add_argument("--size", choices=["quick", "default", "large"], default="default")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=3, help="warm repetitions per round")
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    parser.add_argument("--cache", type=pathlib.Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    hyperd = hyperd_path()
    with open("/proc/loadavg") as load:
        print(f"# query speed, size {args.size}, {args.runs} rounds, load {load.read().split()[0]}")
    print(f"command: {' '.join(sys.argv)}\n")
    columns = ["open"] + [f"{q} {kind}" for kind in ("cold", "warm") for q in QUERIES]
    for name in args.layouts:
        fixture = make_fixture(name, args.size, args.cache)
        files = {"fragmented": fixture, "compacted": compacted(fixture, hyperd)}
        runs = {label: [] for label in files}
        for run in range(args.runs):
            order = list(files) if run % 2 == 0 else list(reversed(files))
            for label in order:
                runs[label].append(measure(files[label], hyperd, args.warm))
        sizes = {label: path.stat().st_size for label, path in files.items()}
        print(f"## {name}: fragmented {sizes['fragmented'] / 2**20:.0f} MiB, compacted "
              f"{sizes['compacted'] / 2**20:.0f} MiB\n")
        print("| step | fragmented s, median (min-max) | compacted s | speed-up |")
        print("| --- | ---: | ---: | ---: |")
        for column in columns:
            before = [r[column] for r in runs["fragmented"]]
            after = [r[column] for r in runs["compacted"]]
            speedup = statistics.median(before) / max(statistics.median(after), 1e-9)
            print(f"| {column} | {fmt_range(before)} | {fmt_range(after)} | {speedup:.2f}x |")
        with open("/proc/loadavg") as load:
            print(f"\nload after: {load.read().split()[0]}\n", flush=True)


if __name__ == "__main__":
    main()
