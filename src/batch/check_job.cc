#include "batch/check_job.h"

#include "package/package.h"
#include "util/error.h"
#include "util/text.h"

namespace hyperdefrag::batch {

CheckOutcome check_job(engine::HyperProcess& engine, const Job& job,
                       const check::CheckOptions& options) {
  CheckOutcome outcome;
  outcome.result.input = job.input;
  outcome.result.package = job.package;
  try {
    if (job.package) {
      package::Unpacked unpacked(job.input);
      for (const auto& extract : unpacked.extracts()) {
        try {
          auto checked = check::check_file(engine, extract.path, options);
          checked.path = job.input;
          checked.entry = extract.entry;
          outcome.checks.push_back(std::move(checked));
        } catch (const Error& error) {
          // About the package and the entry, not the private copy.
          throw error.about(package::entry_subject(job.input, extract.entry));
        }
      }
    } else {
      outcome.checks.push_back(check::check_file(engine, job.input, options));
    }
    for (const auto& checked : outcome.checks) {
      if (!checked.unreadable.empty()) {
        outcome.result.exit_code = static_cast<int>(ExitCode::unreadable_values);
      }
    }
  } catch (const Error& error) {
    // An error about no file in particular (an interruption) is about this one.
    outcome.result.exit_code = static_cast<int>(error.code());
    outcome.result.error =
        one_line(error.subject().empty() ? error.about(job.input).what() : error.what());
  } catch (const std::exception& error) {
    outcome.result.exit_code = static_cast<int>(ExitCode::internal);
    outcome.result.error = one_line(Error(ExitCode::internal, job.input, error.what()).what());
  }
  return outcome;
}

}  // namespace hyperdefrag::batch
