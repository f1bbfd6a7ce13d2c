#include "batch/batch.h"

#include <fmt/format.h>
#include <glob.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "batch/manifest.h"
#include "batch/results.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "package/package.h"
#include "sql/interrupt.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hyper_file.h"
#include "util/text.h"

namespace hyperdefrag::batch {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool is_hyper_name(const fs::path& path) { return lower(path.extension().string()) == ".hyper"; }

// hyperdefrag's own leftovers and outputs, which a walk must not pick up:
// temporary files (".x.hyperdefrag-123-0.tmp.hyper") and X.new.hyper beside X.hyper.
bool is_own_file(const fs::path& path) {
  const auto name = path.filename().string();
  if (name.find(".hyperdefrag-") != std::string::npos) return true;
  const auto stem = path.stem().string();
  if (stem.size() > 4 && stem.substr(stem.size() - 4) == ".new") {
    std::error_code error;
    return fs::exists(
        path.parent_path() / (stem.substr(0, stem.size() - 4) + path.extension().string()), error);
  }
  return false;
}

std::vector<fs::path> walk(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    std::error_code kind;
    if (!it->is_regular_file(kind)) continue;
    const auto& path = it->path();
    if ((is_hyper_name(path) || input_kind(path) == InputKind::package) && !is_own_file(path))
      found.push_back(path);
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool has_wildcard(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

std::vector<fs::path> expand_glob(const std::string& pattern) {
  std::vector<fs::path> found;
  glob_t matches{};
  if (glob(pattern.c_str(), 0, nullptr, &matches) == 0) {
    for (std::size_t i = 0; i < matches.gl_pathc; ++i) found.emplace_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  return found;
}

FileResult failed(const Job& job, const Error& error) {
  FileResult result;
  result.input = job.input;
  result.output = job.output;
  result.package = job.package;
  result.exit_code = static_cast<int>(error.code());
  // An error about no file in particular (an interruption) is about this one.
  result.error = one_line(error.subject().empty() ? error.about(job.input).what() : error.what());
  return result;
}

// The options one job runs with: the batch's, with the job's paths.
DefragOptions options_for(const Job& job, const BatchOptions& options) {
  DefragOptions defrag = options.defrag;
  defrag.input = job.input;
  if (!defrag.in_place) defrag.output = job.output;
  return defrag;
}

// A manifest's files, as jobs; its bad lines, as rejected.
Plan plan_from_manifest(const BatchOptions& options) {
  if (!options.inputs.empty()) {
    throw Error(ExitCode::usage, "--manifest takes the place of the inputs; give either, not both");
  }
  auto manifest = read_manifest(*options.manifest);
  if (options.output && manifest.entries.size() + manifest.rejected.size() > 1) {
    throw Error(ExitCode::usage,
                fmt::format("-o/--output-hyper-file-path is only valid with one input ({} given)",
                            manifest.entries.size() + manifest.rejected.size()));
  }
  Plan result;
  result.rejected = std::move(manifest.rejected);
  std::set<fs::path> seen;
  for (const auto& entry : manifest.entries) {
    Job job = job_for(entry.path, options);
    job.size = entry.identity.size;
    job.expected = entry.identity;
    if (seen.insert(job.input).second) result.jobs.push_back(std::move(job));
  }
  return result;
}

// Keeps the shard's share of the jobs and of the rejected inputs (each
// rejected input is reported by one shard only).
void select_shard(Plan& plan, const Shard& shard) {
  std::vector<ShardItem> items;
  for (const auto& job : plan.jobs) items.push_back({job.input.string(), job.size});
  for (const auto& rejected : plan.rejected) items.push_back({rejected.input.string(), 0});
  const auto assigned = assign_shards(items, shard.count);
  plan.sharding = Plan::Sharding{shard, balance_of(items, assigned, shard.count)};
  std::vector<Job> jobs;
  std::vector<FileResult> rejected;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (assigned[i] != shard.index) continue;
    if (i < plan.jobs.size()) {
      jobs.push_back(std::move(plan.jobs[i]));
    } else {
      rejected.push_back(std::move(plan.rejected[i - plan.jobs.size()]));
    }
  }
  plan.jobs = std::move(jobs);
  plan.rejected = std::move(rejected);
}

// A job from a manifest whose file is gone or is another one now.
void check_as_planned(const Job& job, const std::optional<FileIdentity>& now) {
  if (!job.expected) return;
  if (!now) {
    throw Error(ExitCode::bad_input, job.input, "is gone since the manifest was made; not copied");
  }
  if (!now->same_as(*job.expected)) {
    throw Error(ExitCode::bad_input, job.input,
                fmt::format("changed since the manifest was made (size {} then, {} now; "
                            "modified {} then, {} now); not copied: make the manifest again",
                            job.expected->size, now->size, job.expected->mtime_ns, now->mtime_ns));
  }
}

// --min-gain, before a job runs: its preflight as the dry run makes it (a
// file that cannot be run fails as it would without --min-gain), then the
// note on it, then for a .hyper file the estimate, on the engine `engine`
// gives. Nothing for a package its note does not answer: its run weighs the
// extracts it unpacks (package::ExtractsCheck), so they are unpacked once.
std::optional<GainDecision> weigh_job(const Job& job, const DefragOptions& defrag,
                                      const check::Threshold& threshold,
                                      const EngineSource& engine) {
  if (job.package) {
    package::preflight(defrag, DryRun::yes);
  } else {
    preflight(defrag, DryRun::yes);
  }
  if (auto noted = gain_from_note(defrag, threshold)) return noted;
  if (job.package) return std::nullopt;
  return weigh_gain(false, defrag, threshold, engine);
}

// An engine started when first asked for; a failure to start is remembered
// and thrown to every later caller. Safe to share between threads.
class LazyEngine {
 public:
  explicit LazyEngine(std::function<std::unique_ptr<engine::HyperProcess>()> start)
      : start_(std::move(start)) {}
  engine::HyperProcess& get() {
    std::lock_guard lock(mutex_);
    if (failure_) throw *failure_;
    if (!engine_) {
      try {
        engine_ = start_();
      } catch (const Error& error) {
        failure_ = error;
        throw;
      }
    }
    return *engine_;
  }

 private:
  std::function<std::unique_ptr<engine::HyperProcess>()> start_;
  std::mutex mutex_;
  std::unique_ptr<engine::HyperProcess> engine_;
  std::optional<Error> failure_;
};

}  // namespace

Job job_for(const fs::path& file, const BatchOptions& options) {
  DefragOptions defrag = options.defrag;
  defrag.input = file;
  defrag.output = options.output;
  const Destination destination = destination_for(defrag);
  return {destination.input, destination.output,
          input_kind(destination.input) == InputKind::package, 0, std::nullopt};
}

Plan plan(const BatchOptions& options) {
  if (options.manifest) {
    Plan result = plan_from_manifest(options);
    if (options.shard) select_shard(result, *options.shard);
    return result;
  }
  Plan result;
  std::vector<fs::path> files;
  for (const auto& input : options.inputs) {
    std::error_code error;
    const fs::path path(input);
    if (!fs::exists(path, error) && has_wildcard(input)) {
      const auto matches = expand_glob(input);
      if (!matches.empty()) {
        files.insert(files.end(), matches.begin(), matches.end());
        continue;
      }
    }
    if (options.recursive && fs::is_directory(path, error)) {
      const auto found = walk(path);
      if (found.empty()) {
        Job job{fs::absolute(path).lexically_normal(), {}, false, 0, std::nullopt};
        result.rejected.push_back(failed(
            job, Error(ExitCode::bad_input, job.input, "holds no .hyper, .twbx or .tdsx file")));
      }
      files.insert(files.end(), found.begin(), found.end());
      continue;
    }
    files.push_back(path);
  }
  if (options.output && files.size() + result.rejected.size() > 1) {
    throw Error(ExitCode::usage,
                fmt::format("-o/--output-hyper-file-path is only valid with one input ({} given)",
                            files.size() + result.rejected.size()));
  }
  std::set<fs::path> seen;
  for (const auto& file : files) {
    Job job = job_for(file, options);
    if (seen.insert(job.input).second) {
      job.size = identity_of(job.input).value_or(FileIdentity{}).size;
      result.jobs.push_back(std::move(job));
    }
  }
  if (options.shard) select_shard(result, *options.shard);
  return result;
}

std::vector<FileResult> run(const std::vector<Job>& jobs, const BatchOptions& options,
                            const Observer& observer) {
  std::vector<FileResult> results(jobs.size());
  // One engine for the whole run when there are several files (it starts
  // once instead of once per file). A single .hyper file starts its own after
  // its preflight, so a bad input fails before any engine starts.
  std::unique_ptr<engine::HyperProcess> shared;
  const bool share =
      jobs.size() > 1 || options.shared_engine ||
      std::any_of(jobs.begin(), jobs.end(), [](const Job& job) { return job.package; });
  // With --min-gain the shared engine starts when a file first needs it: a
  // run whose every file a note answers (a second run) starts none.
  LazyEngine lazy_shared([&] {
    auto engine = std::make_unique<engine::HyperProcess>(
        engine_options(engine::locate_hyperd(options.defrag.hyperd).path, options.defrag));
    if (options.shared_engine) engine->keep_log();
    if (observer.on_engine_started) observer.on_engine_started(engine->log_directory());
    return engine;
  });
  if (share && !jobs.empty() && !options.min_gain) {
    try {
      const auto hyperd = engine::locate_hyperd(options.defrag.hyperd);
      shared = std::make_unique<engine::HyperProcess>(engine_options(hyperd.path, options.defrag));
      if (options.shared_engine) shared->keep_log();
      if (observer.on_engine_started) observer.on_engine_started(shared->log_directory());
    } catch (const Error& error) {
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        results[i] = failed(jobs[i], error);
        if (observer.on_file_done) observer.on_file_done(i, results[i]);
      }
      return results;
    }
  }

  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t slot = next++; slot < jobs.size(); slot = next++) {
      const auto& job = jobs[slot];
      const auto started = Clock::now();
      if (observer.on_file_start) observer.on_file_start(slot, job);
      auto& result = results[slot];
      if (options.results_dir) {
        if (auto earlier = results::finished_earlier(*options.results_dir, job.input)) {
          result = std::move(*earlier);
          if (observer.on_file_done) observer.on_file_done(slot, result);
          continue;
        }
      }
      const auto before = identity_of(job.input);
      DefragHooks hooks;
      hooks.engine = shared.get();
      if (observer.on_table_start)
        hooks.on_table_start = [&, slot](const TableStart& t) { observer.on_table_start(slot, t); };
      if (observer.on_table)
        hooks.on_table = [&, slot](const TableResult& t) { observer.on_table(slot, t); };
      hooks.on_statement = observer.on_statement;
      try {
        sql::throw_if_interrupted();
        check_as_planned(job, before);
        const DefragOptions defrag = options_for(job, options);
        // A single file's engine, started for its estimate; the defrag uses it too.
        LazyEngine own([&] {
          return std::make_unique<engine::HyperProcess>(
              engine_options(engine::locate_hyperd(defrag.hyperd).path, defrag));
        });
        std::optional<engine::HyperProcess*> own_started;
        const EngineSource estimate_engine = [&]() -> engine::HyperProcess& {
          if (share) return lazy_shared.get();
          own_started = &own.get();
          return **own_started;
        };
        package::ExtractsCheck weigh_extracts_first;
        if (options.min_gain) {
          result.gain = weigh_job(job, defrag, *options.min_gain, estimate_engine);
          if (!result.gain) {
            weigh_extracts_first = [&](const std::vector<package::Unpacked::Extract>& extracts) {
              result.gain = weigh_extracts(extracts, defrag, *options.min_gain, estimate_engine);
              return !result.gain->skip;
            };
          } else if (!result.gain->skip) {
            hooks.engine = share ? &lazy_shared.get() : own_started.value_or(nullptr);
          }
        }
        const auto skip = [&] {  // nothing was written
          result.skip_reason = skip_reason(*result.gain);
          result.input = job.input;
          result.package = job.package;
          result.size_before = result.size_after = result.gain->size();
        };
        if (result.gain && result.gain->skip) {
          skip();
        } else if (job.package) {
          if (!hooks.engine) hooks.engine = &lazy_shared.get();  // a package always shares one
          auto report = package::defragment_package(defrag, hooks, weigh_extracts_first);
          if (!report) {
            skip();  // every extract below the threshold
          } else {
            result.input = report->input;
            result.output = report->output;
            result.package = true;
            result.size_before = report->size_before;
            result.size_after = report->size_after;
            result.seconds = report->seconds;
            result.extracts = std::move(report->extracts);
          }
        } else {
          const auto report = defragment(defrag, hooks);
          result.input = report.input;
          result.output = report.output;
          result.size_before = report.size_before;
          result.size_after = report.size_after;
          result.hyper = report;
        }
      } catch (const Error& error) {
        result = failed(job, error);
      } catch (const std::exception& error) {
        result = failed(job, Error(ExitCode::internal, job.input, error.what()));
      }
      result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
      if (result.hyper) result.seconds = result.hyper->seconds;
      if (options.results_dir) {
        try {
          results::record(*options.results_dir, job.input, result,
                          results::identity_to_record(result, options.defrag.in_place, before),
                          shard_text(options));
        } catch (const Error& error) {
          result =
              failed(job, Error(error.code(), job.input,
                                fmt::format("its result could not be recorded: {}", error.what())));
        }
      }
      if (observer.on_file_done) observer.on_file_done(slot, result);
    }
  };
  const auto workers = static_cast<std::size_t>(std::clamp(options.jobs, 1, 64));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < std::min(workers, jobs.size()); ++i) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  return results;
}

void record_rejected(const std::vector<FileResult>& rejected, const BatchOptions& options) {
  if (!options.results_dir) return;
  for (const auto& result : rejected) {
    results::record(*options.results_dir, result.input, result, std::nullopt, shard_text(options));
  }
}

std::string shard_text(const BatchOptions& options) {
  if (!options.shard) return "";
  return fmt::format("{}/{}", options.shard->index + 1, options.shard->count);
}

int exit_code(const std::vector<FileResult>& results) {
  if (const int signal = sql::interrupted(); signal != 0) return 128 + signal;
  if (results.size() == 1) return results[0].exit_code;
  const bool all_ok =
      std::all_of(results.begin(), results.end(), [](const auto& r) { return r.ok(); });
  return all_ok ? 0 : static_cast<int>(ExitCode::some_failed);
}

std::vector<DryRunItem> dry_run(const std::vector<Job>& jobs, const BatchOptions& options) {
  std::vector<DryRunItem> items;
  LazyEngine engine([&] {  // started for the first estimate, if any
    return std::make_unique<engine::HyperProcess>(
        engine_options(engine::locate_hyperd(options.defrag.hyperd).path, options.defrag));
  });
  for (const auto& job : jobs) {
    DryRunItem item;
    item.job = job;
    try {
      // The real run's preflight, without its side effects.
      const DefragOptions defrag = options_for(job, options);
      const auto prepared =
          job.package ? package::preflight(defrag, DryRun::yes) : preflight(defrag, DryRun::yes);
      item.input_size = prepared->input_state().size;
      const auto& checks = prepared->space_checks();
      item.output_space = checks.at(0).needed;
      item.output_free = checks.at(0).free;
      if (checks.size() > 1) {
        item.temp_space = checks[1].needed;
        item.temp_free = checks[1].free;
      }
      if (options.min_gain) {  // after the preflight just made
        item.gain = weigh_gain(job.package, defrag, *options.min_gain,
                               [&]() -> engine::HyperProcess& { return engine.get(); });
      }
    } catch (const Error& error) {
      item.exit_code = static_cast<int>(error.code());
      item.error = one_line(error.what());
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace hyperdefrag::batch
