// The Python binding (nanobind) of hyperdefrag's library: run() defragments
// one file as the command does for one input, and returns its exit code, the
// one-line error (empty on success) and the JSON report of `--json` (empty
// when the options were refused before any file was looked at). Python's
// hyperdefrag.defragment() (python/hyperdefrag/__init__.py) wraps it; callers use that.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>

#include "batch/batch.h"
#include "report/report.h"
#include "util/error.h"
#include "util/text.h"

namespace nb = nanobind;

namespace hyperdefrag::python {
namespace {
namespace fs = std::filesystem;

using Outcome = std::tuple<int, std::string, std::string>;

Outcome run(const std::string& input, const std::optional<std::string>& output, bool in_place,
            const std::optional<std::string>& backup, bool verify, bool force,
            const std::optional<int>& target_version,
            const std::optional<std::string>& memory_limit, const std::string& sort, int table_jobs,
            const std::optional<std::string>& hyperd) {
  const auto started = std::chrono::steady_clock::now();
  batch::BatchOptions options;
  options.inputs = {input};
  if (output) options.output = *output;
  options.defrag.in_place = in_place;
  if (backup) options.defrag.backup = *backup;  // empty: the default path
  options.defrag.verify = verify;
  options.defrag.force = force ? Force::yes : Force::no;
  options.defrag.target_version = target_version;
  if (memory_limit) options.defrag.memory_limit = *memory_limit;
  options.defrag.sort = sort;
  options.defrag.jobs = table_jobs;
  if (hyperd) options.defrag.hyperd = *hyperd;
  // One input, named exactly (no glob expansion, no directory walk).
  std::vector<batch::FileResult> results;
  try {
    results = batch::run({batch::job_for(input, options)}, options, {});
  } catch (const Error& error) {
    return {static_cast<int>(error.code()), one_line(error.what()), ""};
  } catch (const std::exception& error) {
    return {static_cast<int>(ExitCode::internal), one_line(error.what()), ""};
  }
  const int code = batch::exit_code(results);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return {code, results.front().error, report::run_json(results, seconds, code).dump()};
}

}  // namespace
}  // namespace hyperdefrag::python

NB_MODULE(_core, m) {
  m.doc() = "hyperdefrag's C++ library; use hyperdefrag.defragment()";
  m.attr("VERSION") = HYPERDEFRAG_VERSION;
  m.def("run", &hyperdefrag::python::run, nb::arg("input"), nb::arg("output").none(),
        nb::arg("in_place"), nb::arg("backup").none(), nb::arg("verify"), nb::arg("force"),
        nb::arg("target_version").none(), nb::arg("memory_limit").none(), nb::arg("sort"),
        nb::arg("table_jobs"), nb::arg("hyperd").none(),
        // The run does not touch Python objects: other threads go on meanwhile.
        nb::call_guard<nb::gil_scoped_release>(),
        "Defragments one file; returns (exit_code, error, report_json).");
}
