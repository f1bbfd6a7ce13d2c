"""The sampling methods tried for `hyperdefrag check`, against a real copy of
each table: how far each method's estimate of the compacted data is from
the data a full `INSERT ... SELECT` writes, summed over a file's sampled
tables, as a share of the file's size. docs/CHECK.md keeps the table.

For every table of more than 262,144 live rows, in the file's own format
version, in scratch databases beside the output of this script:
  - the actual size: every row copied into an empty table (defrag's statement);
  - three ways to take a sample, each as two INSERTs of --rows rows with a
    DETACH after each: `bernoulli` (TABLESAMPLE BERNOULLI, seeds 1 and 2),
    `ends` (the first rows, then the last: LIMIT, LIMIT ... OFFSET) and
    `first` (the first rows, then the next ones);
  - two ways to scale each: `single` (the first INSERT's growth times live
    rows / sampled rows) and `marginal` (the first INSERT's growth plus the
    second's growth per row times the rows left: what check does);
  - the mean of bernoulli and ends, marginal (check's method) and of
    bernoulli and first.

    .venv/bin/python bench/check_methods.py FILE.hyper... [--rows 131072]
"""

import argparse
import pathlib
import tempfile
import time

from tableauhyperapi import Connection, HyperProcess, Telemetry, escape_name, escape_string_literal

ROOT = pathlib.Path(__file__).resolve().parent.parent
HYPERD_DIR = next((ROOT / ".venv").glob("lib/python3*/site-packages/tableauhyperapi/bin/hyper"))
FULL_COPY_ROWS = 262_144


def fill(connection, scratch: pathlib.Path, version: int, schema: str, name: str, source: str,
         selects: list[str]) -> tuple[list[int], list[int], float]:
    """Makes `scratch` holding an empty copy of the table, runs each SELECT
    as an INSERT into it with a DETACH after each; returns the file's growth
    and the rows of each INSERT, and the seconds they took."""
    scratch.unlink(missing_ok=True)
    connection.execute_command(f"CREATE DATABASE {escape_name(str(scratch))} WITH VERSION {version}")
    target = f"scratch.{escape_name(schema)}.{escape_name(name)}"
    connection.execute_command(f"ATTACH DATABASE {escape_name(str(scratch))} AS scratch")
    connection.execute_command(f"CREATE SCHEMA scratch.{escape_name(schema)}")
    connection.execute_command(f"CREATE TABLE {target} AS SELECT * FROM {source} LIMIT 0")
    connection.execute_command("DETACH DATABASE scratch")
    growth, rows = [], []
    started = time.perf_counter()
    for select in selects:
        before = scratch.stat().st_size
        connection.execute_command(f"ATTACH DATABASE {escape_name(str(scratch))} AS scratch")
        rows.append(connection.execute_command(f"INSERT INTO {target} {select}"))
        connection.execute_command("DETACH DATABASE scratch")
        growth.append(scratch.stat().st_size - before)
    seconds = time.perf_counter() - started
    scratch.unlink()
    return growth, rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    parser.add_argument("--rows", type=int, default=131_072, help="rows of each sample INSERT")
    args = parser.parse_args()
    n = args.rows
    print(f"| file | input bytes | sampled tables | method | error / input | seconds |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, hyper_path=HYPERD_DIR,
                      parameters={"log_config": ""}) as hyper, \
            Connection(hyper.endpoint) as connection, \
            tempfile.TemporaryDirectory(dir=ROOT / "bench") as scratch_dir:
        scratch = pathlib.Path(scratch_dir) / "scratch.hyper"
        for file in args.files:
            path = str(file.resolve())
            connection.execute_command(f"ATTACH DATABASE {escape_name(path)} AS input")
            version = int(connection.execute_scalar_query(
                "SELECT database_version FROM pg_catalog.hyper_database WHERE datname = "
                + escape_string_literal(path)))
            tables = connection.execute_list_query(
                "SELECT n.nspname, c.relname FROM input.pg_catalog.pg_class c "
                "JOIN input.pg_catalog.pg_namespace n ON c.relnamespace = n.oid "
                "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
            errors: dict[str, float] = {}
            seconds: dict[str, float] = {}
            sampled = 0
            for schema, name in tables:
                source = f"input.{escape_name(schema)}.{escape_name(name)}"
                live = connection.execute_scalar_query(f"SELECT COUNT(*) FROM {source}")
                if live <= FULL_COPY_ROWS:
                    continue
                sampled += 1
                (actual,), _, seconds_full = fill(connection, scratch, version, schema, name, source,
                                                  [f"SELECT * FROM {source}"])
                seconds["full copy"] = seconds.get("full copy", 0) + seconds_full
                percent = f"{100.0 * n / live:.6f}"
                samples = {
                    "bernoulli": [f"SELECT * FROM {source} TABLESAMPLE BERNOULLI ({percent}) REPEATABLE ({seed})"
                                  for seed in (1, 2)],
                    "ends": [f"SELECT * FROM {source} LIMIT {n}",
                             f"SELECT * FROM {source} LIMIT {n} OFFSET {live - n}"],
                    "first": [f"SELECT * FROM {source} LIMIT {n}",
                              f"SELECT * FROM {source} LIMIT {n} OFFSET {n}"],
                }
                estimates = {}
                for kind, selects in samples.items():
                    (first, second), (rows_1, rows_2), took = fill(
                        connection, scratch, version, schema, name, source, selects)
                    seconds[kind] = seconds.get(kind, 0) + took
                    estimates[f"{kind} single"] = first * live / rows_1
                    estimates[f"{kind} marginal"] = first + second * (live - rows_1) / rows_2
                estimates["mean of bernoulli and ends, marginal (check)"] = (
                    estimates["bernoulli marginal"] + estimates["ends marginal"]) / 2
                estimates["mean of bernoulli and first, marginal"] = (
                    estimates["bernoulli marginal"] + estimates["first marginal"]) / 2
                for method, estimate in estimates.items():
                    errors[method] = errors.get(method, 0) + estimate - actual
            connection.execute_command("DETACH DATABASE input")
            size = file.stat().st_size
            for method, error in errors.items():
                kind = method.split()[0]
                took = f"{seconds[kind]:.2f}" if kind in seconds else ""
                print(f"| {file.name} | {size:,} | {sampled} | {method} | {100 * error / size:+.2f}% | {took} |")
            print(f"| {file.name} | {size:,} | {sampled} | (the full copies) | | {seconds.get('full copy', 0):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
