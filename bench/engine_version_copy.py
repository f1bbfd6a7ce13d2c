"""Shows what the engine's own CREATE DATABASE ... WITH VERSION n FROM does to
a table with an assumed foreign key to a table in another schema: it copies
that table's rows twice. Prints each case and whether the copy kept every
table's rows; exits 1 if a case lost or gained rows.

    .venv/bin/python bench/engine_version_copy.py [--hyperd PATH]

Measured with hyperd 0.0.26963 (docs/ENGINE.md): the rows double when the
foreign key crosses schemas and the version changes; not with the same
version (a block copy), not within one schema, not without the key.
"""

import argparse
import pathlib
import sys
import tempfile

from tableauhyperapi import Connection, HyperProcess, Telemetry, escape_name

CASES = {
    # name: (the referencing table's schema, with the foreign key, WITH VERSION)
    "foreign key across schemas, version 2 -> 4": ("alpha", True, 4),
    "foreign key across schemas, same version": ("alpha", True, None),
    "foreign key within one schema, version 2 -> 4": ("zeta", True, 4),
    "no foreign key, version 2 -> 4": ("alpha", False, 4),
}


def copy_counts(connection: Connection, scratch: pathlib.Path, schema: str, foreign_key: bool,
                version: int | None) -> tuple[int, int]:
    source = scratch / f"in-{schema}-{foreign_key}-{version}.hyper"
    copy = scratch / f"out-{schema}-{foreign_key}-{version}.hyper"
    connection.execute_command(f"CREATE DATABASE {escape_name(str(source))} WITH VERSION 2")
    connection.execute_command(f"ATTACH DATABASE {escape_name(str(source))} AS db")
    statements = ["CREATE SCHEMA db.zeta", "CREATE SCHEMA db.alpha",
                  "CREATE TABLE db.zeta.b (id INTEGER NOT NULL, ASSUMED PRIMARY KEY (id))",
                  f"CREATE TABLE db.{schema}.a (id INTEGER, bid INTEGER)",
                  "INSERT INTO db.zeta.b VALUES (1), (2)",
                  f"INSERT INTO db.{schema}.a VALUES (1, 1), (2, 2)"]
    if foreign_key:
        statements.append(
            f"ALTER TABLE db.{schema}.a ADD ASSUMED FOREIGN KEY (bid) REFERENCES db.zeta.b (id)")
    for statement in statements:
        connection.execute_command(statement)
    connection.execute_command("DETACH DATABASE db")
    with_version = f" WITH VERSION {version}" if version is not None else ""
    connection.execute_command(
        f"CREATE DATABASE {escape_name(str(copy))}{with_version} FROM {escape_name(str(source))}")
    connection.execute_command(f"ATTACH DATABASE {escape_name(str(copy))} AS c")
    counts = (connection.execute_scalar_query(f"SELECT COUNT(*) FROM c.{schema}.a"),
              connection.execute_scalar_query("SELECT COUNT(*) FROM c.zeta.b"))
    connection.execute_command("DETACH DATABASE c")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hyperd", type=pathlib.Path, help="the hyperd binary (default: the wheel's)")
    args = parser.parse_args()
    options = {"hyper_path": args.hyperd.parent} if args.hyperd else {}
    wrong = 0
    with tempfile.TemporaryDirectory(prefix="engine-version-copy-") as scratch, \
            HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                         parameters={"log_config": ""}, **options) as hyper, \
            Connection(hyper.endpoint) as connection:
        for name, (schema, foreign_key, version) in CASES.items():
            a, b = copy_counts(connection, pathlib.Path(scratch), schema, foreign_key, version)
            kept = (a, b) == (2, 2)
            wrong += not kept
            print(f"{name}: rows {a} and {b} (the input: 2 and 2){'' if kept else ': WRONG'}")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
