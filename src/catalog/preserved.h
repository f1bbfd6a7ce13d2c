// What a .hyper file can hold, and what hyperdefrag does with each: the one
// reviewed list, as SQLite's VACUUM keeps what it carries over in one table.
// docs/ENGINE.md shows the same list; a test checks that every item is there
// and that every named test exists, so the three cannot drift apart.
#pragma once

#include <array>
#include <string_view>

namespace hyperdefrag::catalog {

enum class Fate {
  preserved,    // copied as it is and compared by --verify
  regenerated,  // made anew by the engine, equal by construction
  not_stored,   // the engine cannot store it in a file, so no file has it
  renewed,      // deliberately new in the output
};

struct PreservedItem {
  std::string_view what;
  std::string_view source;  // where it is read from
  Fate fate;
  std::string_view how;   // how it is recreated, or why not
  std::string_view test;  // the test that shows it: Suite.Name
};

inline constexpr std::array kPreserved = {
    PreservedItem{"schemas, empty ones too, in creation order", "pg_namespace", Fate::preserved,
                  "CREATE SCHEMA", "RoundTrip.SchemasAndTablesKeepTheirOrder"},
    PreservedItem{"tables, empty ones too, in creation order", "pg_class (relkind r)",
                  Fate::preserved, "CREATE TABLE", "RoundTrip.SchemasAndTablesKeepTheirOrder"},
    PreservedItem{"rows, as a multiset (duplicates and NULLs included)", "the tables",
                  Fate::preserved, "INSERT ... SELECT inside the engine",
                  "RoundTrip.EveryDataTypeAndEdgeValue"},
    PreservedItem{"column names and order", "pg_attribute", Fate::preserved, "CREATE TABLE",
                  "RoundTrip.ColumnDefinitions"},
    PreservedItem{"column types with precision, scale and length", "format_type(), pg_type",
                  Fate::preserved, "CREATE TABLE", "RoundTrip.EveryDataTypeAndEdgeValue"},
    PreservedItem{"nullability (NOT NULL)", "pg_attribute.attnotnull", Fate::preserved,
                  "CREATE TABLE", "RoundTrip.ColumnDefinitions"},
    PreservedItem{"collations", "pg_attribute.attcollation, pg_collation", Fate::preserved,
                  "COLLATE in CREATE TABLE", "RoundTrip.ColumnDefinitions"},
    PreservedItem{"DEFAULT expressions", "pg_attrdef.adsrc", Fate::preserved,
                  "DEFAULT in CREATE TABLE, database qualifiers removed",
                  "RoundTrip.ColumnDefinitions"},
    PreservedItem{"column descriptions (COMMENT ON COLUMN)", "pg_description", Fate::preserved,
                  "COMMENT ON COLUMN", "RoundTrip.ColumnDefinitions"},
    PreservedItem{"ASSUMED PRIMARY KEY", "pg_constraint (contype p)", Fate::preserved,
                  "in CREATE TABLE", "RoundTrip.AssumedConstraints"},
    PreservedItem{"ASSUMED UNIQUE", "pg_constraint (contype u)", Fate::preserved, "in CREATE TABLE",
                  "RoundTrip.AssumedConstraints"},
    PreservedItem{"ASSUMED FOREIGN KEY, also across schemas", "pg_constraint (contype f)",
                  Fate::preserved, "ALTER TABLE ... ADD once every table exists",
                  "RoundTrip.AssumedConstraints"},
    PreservedItem{"file-format version", "pg_catalog.hyper_database", Fate::preserved,
                  "CREATE DATABASE ... WITH VERSION (or --target-version)",
                  "Defragment.KeepsTheFormatVersion"},
    PreservedItem{"constraint names", "pg_constraint.conname", Fate::regenerated,
                  "the engine names constraints itself (named constraints are not implemented) "
                  "from table and column names, so they come out the same",
                  "RoundTrip.AssumedConstraints"},
    PreservedItem{"table and schema descriptions", "-", Fate::not_stored,
                  "COMMENT ON TABLE and COMMENT ON SCHEMA are syntax errors",
                  "RoundTrip.ColumnDefinitions"},
    PreservedItem{"views, indexes, sequences, CHECK constraints", "-", Fate::not_stored,
                  "the engine refuses them: \"Views are disabled.\", \"Index support is "
                  "disabled.\", \"Support for sequences is disabled.\", \"check constraints not "
                  "implemented yet\"",
                  "RoundTrip.SchemasAndTablesKeepTheirOrder"},
    PreservedItem{"array columns", "-", Fate::not_stored,
                  "\"Persistence of data type 'array(...)' not allowed\"",
                  "RoundTrip.EveryDataTypeAndEdgeValue"},
    PreservedItem{"physical layout: blocks, deleted rows, row order", "-", Fate::renewed,
                  "rewritten compactly; that is the point",
                  "Defragment.FragmentedFileShrinksWithEqualRowCountsAndUntouchedInput"},
    PreservedItem{"creation_hyper_version, last_file_write_timestamp", "pg_catalog.hyper_database",
                  Fate::renewed, "the output is a new file written by this engine",
                  "Defragment.KeepsTheFormatVersion"},
};

}  // namespace hyperdefrag::catalog
