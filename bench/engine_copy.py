"""The engine's own whole-database copy, CREATE DATABASE ... FROM, issued directly.

Usage: engine_copy.py INPUT OUTPUT --hyperd HYPERD [--version N]
"""

import argparse
import pathlib

from tableauhyperapi import Connection, HyperProcess, Telemetry, escape_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--hyperd", required=True)
    parser.add_argument("--version", type=int, help="WITH VERSION n: the output's format version")
    args = parser.parse_args()
    pathlib.Path(args.output).unlink(missing_ok=True)
    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      hyper_path=pathlib.Path(args.hyperd).parent) as hyper:
        with Connection(hyper.endpoint) as connection:
            version = f" WITH VERSION {args.version}" if args.version is not None else ""
            connection.execute_command(
                f"CREATE DATABASE {escape_name(args.output)}{version} FROM {escape_name(args.input)}")


if __name__ == "__main__":
    main()
