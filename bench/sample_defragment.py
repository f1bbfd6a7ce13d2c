"""Tableau's defragment sample, rewritten for the benchmark.

Does what Tableau's Community-Supported "defragment-hyper-file" sample does,
with the same Hyper API and the same hyperd binary as hyperdefrag: start
Hyper, attach the input and a new output database, recreate every schema and
table from its definition (column names, types, nullability, collation),
copy each table with INSERT ... SELECT, one table at a time, and print a line
per table. Usage: sample_defragment.py INPUT -o OUTPUT --hyperd HYPERD
"""

import argparse
import pathlib

from tableauhyperapi import (Connection, CreateMode, HyperProcess, SchemaName, TableDefinition,
                             TableName, Telemetry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("-o", "--output-hyper-file-path", required=True)
    parser.add_argument("--hyperd", required=True, help="path of the hyperd binary to run")
    args = parser.parse_args()
    output = pathlib.Path(args.output_hyper_file_path)
    output.unlink(missing_ok=True)  # the sample drops an existing output

    hyper_dir = pathlib.Path(args.hyperd).parent
    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      hyper_path=hyper_dir) as hyper:
        with Connection(hyper.endpoint) as connection:
            catalog = connection.catalog
            catalog.attach_database(args.input, alias="input_database")
            catalog.create_database(output)
            catalog.attach_database(output, alias="output_database")
            for schema in catalog.get_schema_names("input_database"):
                target_schema = SchemaName("output_database", schema.name.unescaped)
                catalog.create_schema_if_not_exists(target_schema)
                for table in catalog.get_table_names(schema):
                    definition = catalog.get_table_definition(table)
                    target = TableName("output_database", schema.name.unescaped,
                                       table.name.unescaped)
                    copy = TableDefinition(target, definition.columns)
                    catalog.create_table(copy)
                    connection.execute_command(f"INSERT INTO {target} SELECT * FROM {table}")
                    print(f"Successfully converted table {table}")
            catalog.detach_database("output_database")
    print(f"Successfully converted {args.input} into {output}")


if __name__ == "__main__":
    main()
