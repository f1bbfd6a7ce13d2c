// The corruption campaign: real and generated .hyper files, damaged
// deterministically (tests/corrupt.h) from a fixed seed, each given to the
// hyperdefrag binary. Whatever the damage, every case must end without a hang,
// without exit 1 (a bug) and without a signal; the input must be
// byte-identical afterwards and the directory must hold nothing new but, on
// exit 0, the copy, which must then hold exactly what the engine reads from
// the damaged input (catalog, row counts, and rows by EXCEPT ALL both ways).
//
// CI runs kDefaultCases cases; HYPERDEFRAG_CORRUPTION_CASES=N runs N (case i
// is the same case in every campaign), HYPERDEFRAG_CORRUPTION_SEED another
// seed. To look at one case: HYPERDEFRAG_CORRUPTION_ONLY=i runs case i alone,
// and HYPERDEFRAG_CORRUPTION_KEEP=DIR writes each damaged input to
// DIR/case-i.hyper. The outcome table (cases per exit code and per damage) is printed;
// docs/SAFETY.md has the last one measured.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include "catalog/catalog.h"
#include "corrupt.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "fixture/fragmented.h"
#include "sql/quote.h"
#include "test_support.h"
#include "verify/verify.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kDefaultCases = 80;
constexpr std::uint64_t kDefaultSeed = 0x6879706572646672ULL;  // "hyperdfr"
constexpr auto kCaseTimeout = std::chrono::seconds(90);

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || text[0] == '\0') return fallback;
  return std::stoull(text, nullptr, 0);
}

// The undamaged files: Tableau's own samples, then files made here through
// the engine (fixture/fragmented.h), small so that each case runs quickly.
class Originals {
 public:
  Originals() {
    if (const auto dir = testing::shared_fixtures()) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::directory_iterator(*dir)) {
        if (entry.path().extension() == ".hyper") found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      for (const auto& path : found) add(path.filename().string(), path);
    }
    const auto extract = dir_ / "fragmented-extract.hyper";
    testing::make_small_fragmented(extract, 3'000, 2);
    add("fragmented-extract.hyper (generated)", extract);
    const auto mixed = dir_ / "fragmented-mixed-v4.hyper";
    auto connection = testing::connect();
    fixture::make_fragmented_file(connection, mixed, {1'500, 4, 4, fixture::Layout::mixed});
    add("fragmented-mixed-v4.hyper (generated)", mixed);
  }
  struct File {
    std::string name;
    std::string bytes;
  };
  const std::vector<File>& files() const { return files_; }

 private:
  void add(const std::string& name, const fs::path& path) {
    files_.push_back({name, testing::read_bytes(path)});
  }
  testing::ScratchDir dir_;
  std::vector<File> files_;
};

struct Case {
  std::size_t index = 0;
  const Originals::File* original = nullptr;
  testing::Damage damage = testing::Damage::bit_flips;
  std::uint64_t seed = 0;
  bool verify = false;   // every third case runs with --verify
  bool inspect = false;  // every fourth case runs hyperdefrag inspect too
};

Case make_case(const Originals& originals, std::size_t index, std::uint64_t base_seed) {
  const auto& files = originals.files();
  Case c;
  c.index = index;
  c.original = &files[index % files.size()];
  c.damage = static_cast<testing::Damage>((index / files.size()) % testing::kDamageKinds);
  c.seed = testing::Random(base_seed + index).next();
  c.verify = index % 3 == 2;
  c.inspect = index % 4 == 3;
  return c;
}

struct Outcome {
  int exit_code = -1;  // 128 + signal if it died of one; -1 if it hung
  std::string err;
  std::vector<std::string> failures;  // the properties it broke
  std::string rows_differ;            // exit 0 without --verify, rows differ: which
  std::string compare_engine_died;    // exit 0, and the engine died comparing: which
  std::string not_repeatable;         // exit 0, two engines read the damaged input differently
  int inspect_exit_code = -2;         // hyperdefrag inspect's, if it ran
};

// Whether `pid` has exited, without reaping it (RunningTool::wait() does).
bool has_exited(pid_t pid) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

bool wait_exit(pid_t pid, Clock::time_point deadline) {
  while (!has_exited(pid)) {
    if (Clock::now() >= deadline) return false;
    usleep(5'000);
  }
  return true;
}

struct Differences {
  std::vector<std::string> catalog_or_counts;  // what every run of the tool promises
  std::vector<std::string> rows;               // what --verify promises besides
  std::string engine_died;  // the comparing engine died reading the damaged input: how
};

// The campaign's own engine for comparisons, started again after a damaged
// file made it die (the shared engine of the other tests is left alone).
class CompareEngine {
 public:
  sql::Connection connect() {
    if (!process_ || !process_->running()) {
      process_.reset();
      process_ = std::make_unique<engine::HyperProcess>(engine::EngineOptions{
          engine::locate_hyperd(std::nullopt).path, {}, std::chrono::seconds(60)});
    }
    return sql::Connection(process_->endpoint());
  }
  // The next connect() starts a new engine.
  void restart() { process_.reset(); }

 private:
  std::unique_ptr<engine::HyperProcess> process_;
};

CompareEngine& compare_engine() {
  static CompareEngine engine;
  return engine;
}

// What the engine reads from `input` and `output` must be the same: the
// catalog (compared as the tool's verify does) and, table by table, the row
// counts and the rows, by EXCEPT ALL in both directions.
Differences compare_through_engine(const fs::path& input, const fs::path& output) {
  Differences found;
  auto& differences = found.catalog_or_counts;
  auto connection = compare_engine().connect();
  try {
    connection.exec(fmt::format("ATTACH DATABASE {} AS a WITH (access_mode = 'readonly')",
                                sql::quote_identifier(input.string())));
    connection.exec(fmt::format("ATTACH DATABASE {} AS b WITH (access_mode = 'readonly')",
                                sql::quote_identifier(output.string())));
    const auto source = catalog::read_catalog(connection, "a", input.string());
    const auto copy = catalog::read_catalog(connection, "b", output.string());
    differences = verify::compare_catalogs(source, copy, source.format_version).differences;
    if (differences.empty()) {
      for (const auto& table : source.tables) {
        std::string columns;
        for (const auto& column : table.columns) {
          if (!columns.empty()) columns += ", ";
          columns += sql::quote_identifier(column.name);
        }
        const auto a = sql::quote_qualified({"a", table.schema, table.name});
        const auto b = sql::quote_qualified({"b", table.schema, table.name});
        const auto result = connection.exec(fmt::format(
            "SELECT (SELECT COUNT(*) FROM {a}), (SELECT COUNT(*) FROM {b}), "
            "(SELECT COUNT(*) FROM (SELECT {c} FROM {a} EXCEPT ALL SELECT {c} FROM {b}) AS x), "
            "(SELECT COUNT(*) FROM (SELECT {c} FROM {b} EXCEPT ALL SELECT {c} FROM {a}) AS y)",
            fmt::arg("a", a), fmt::arg("b", b), fmt::arg("c", columns)));
        if (result.value(0, 0) != result.value(0, 1) || result.value(0, 2) != "0" ||
            result.value(0, 3) != "0") {
          (result.value(0, 0) != result.value(0, 1) ? differences : found.rows)
              .push_back(fmt::format(
                  "table {}: {} rows in the input, {} in the copy, {} only in the input, {} only "
                  "in the copy",
                  sql::quote_qualified({table.schema, table.name}), result.value(0, 0),
                  result.value(0, 1), result.value(0, 2), result.value(0, 3)));
        }
      }
    }
  } catch (const sql::SqlError& error) {
    if (error.sqlstate().rfind("08", 0) == 0) {
      found.engine_died = error.what();
      return found;
    }
    differences.push_back(fmt::format("the engine could not compare them: {}", error.what()));
  } catch (const std::exception& error) {
    differences.push_back(fmt::format("the engine could not compare them: {}", error.what()));
  }
  for (const char* alias : {"a", "b"}) {
    try {
      connection.exec(fmt::format("DETACH DATABASE {}", alias));
    } catch (const std::exception&) {
    }
  }
  return found;
}

// Runs the binary with `args`; a run still going after kCaseTimeout is
// stopped and reported in `failures`.
testing::RunResult run_with_timeout(const std::vector<std::string>& args,
                                    std::vector<std::string>& failures) {
  // The engine's directory goes to a TMPDIR of the campaign's own, so that
  // the logs kept after an engine fault (exit 5 or 6) go when it ends.
  static const testing::ScratchDir engine_dirs;
  testing::RunningTool tool(args, {"/usr/bin/env", "TMPDIR=" + engine_dirs.path().string()});
  if (!wait_exit(tool.pid(), Clock::now() + kCaseTimeout)) {
    failures.push_back(fmt::format("hung: {} still running after {} s; stopped", args.front(),
                                   kCaseTimeout.count()));
    kill(tool.pid(), SIGTERM);
    if (!wait_exit(tool.pid(), Clock::now() + std::chrono::seconds(15))) kill(tool.pid(), SIGKILL);
  }
  return tool.wait();
}

// hyperdefrag inspect on the damaged input: no hang, no exit 1, no signal,
// the input untouched, and a code among those inspect can have for it.
void check_inspect(const fs::path& input, const std::string& bytes, Outcome& outcome) {
  std::vector<std::string> failures;
  const auto result = run_with_timeout({"inspect", input.string()}, failures);
  outcome.inspect_exit_code = failures.empty() ? result.exit_code : -1;
  const int code = result.exit_code;
  if (failures.empty() && code != 0 && code != 3 && code != 5 && code != 9) {
    failures.push_back(fmt::format("exit {}: {}", code, result.err));
  }
  if (testing::read_bytes(input) != bytes) failures.push_back("the input changed");
  if (!testing::unexpected_files(input.parent_path(), {"in.hyper", "out.hyper"}).empty()) {
    failures.push_back("left files in the directory");
  }
  for (const auto& failure : failures) outcome.failures.push_back("inspect: " + failure);
}

Outcome run_case(const Case& c) {
  Outcome outcome;
  const auto damaged = testing::corrupt(c.original->bytes, c.damage, c.seed);
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  const auto output = dir / "out.hyper";
  testing::write_bytes(input, damaged.bytes);
  if (const char* keep = std::getenv("HYPERDEFRAG_CORRUPTION_KEEP")) {
    testing::write_bytes(fs::path(keep) / fmt::format("case-{}.hyper", c.index), damaged.bytes);
  }

  std::vector<std::string> args = {"-o", output.string(), input.string()};
  if (c.verify) args.insert(args.begin(), "--verify");
  const auto result = run_with_timeout(args, outcome.failures);
  outcome.exit_code = outcome.failures.empty() ? result.exit_code : -1;
  outcome.err = result.err;

  if (result.exit_code == 1) outcome.failures.push_back("exit 1 (internal error)");
  if (result.exit_code >= 128) {
    outcome.failures.push_back(fmt::format("died of signal {}", result.exit_code - 128));
  }
  if (result.exit_code != 0 && result.exit_code != 1 && result.exit_code < 128 &&
      (result.err.empty() || std::count(result.err.begin(), result.err.end(), '\n') != 1 ||
       !testing::contains(result.err, input.string()))) {
    outcome.failures.push_back("the error is not one line naming the input");
  }
  if (testing::read_bytes(input) != damaged.bytes) outcome.failures.push_back("the input changed");
  const auto extra = testing::unexpected_files(
      dir.path(), result.exit_code == 0 ? std::vector<std::string>{"in.hyper", "out.hyper"}
                                        : std::vector<std::string>{"in.hyper"});
  if (!extra.empty()) {
    outcome.failures.push_back(fmt::format("left in the directory: {}", fmt::join(extra, ", ")));
  }
  if (result.exit_code == 0) {
    auto differences = compare_through_engine(input, output);
    // Rows that differ: once more, in a new engine. hyperd's reading of a
    // damaged block that passes its checksum (a block copied or randomised
    // inside string data) is not always the same from one engine to the
    // next; only a difference found twice alike counts against the copy.
    if (!differences.rows.empty()) {
      compare_engine().restart();
      const auto again = compare_through_engine(input, output);
      if (again.rows != differences.rows) {
        outcome.not_repeatable =
            fmt::format("case {} ({}, {}{}): first {}; then {}", c.index, c.original->name,
                        damaged.description, c.verify ? ", --verify" : "", differences.rows.front(),
                        again.rows.empty() ? std::string("no difference") : again.rows.front());
        differences.rows.clear();
      }
    }
    for (const auto& difference : differences.catalog_or_counts) {
      outcome.failures.push_back("the copy differs from what the engine reads: " + difference);
    }
    // The engine dies reading the damaged input the tool copied: hyperd's
    // reading of damaged data is not repeatable; a finding, counted apart.
    if (!differences.engine_died.empty()) {
      outcome.compare_engine_died = fmt::format("case {} ({}, {}): {}", c.index, c.original->name,
                                                damaged.description, differences.engine_died);
    }
    // Without --verify the tool compares catalogs and row counts only, and
    // says so; rows that differ are then a finding, counted apart, not a
    // broken promise (HYPERDEFRAG_CORRUPTION_EXACT=1 makes them one).
    if (!differences.rows.empty()) {
      if (c.verify || env_number("HYPERDEFRAG_CORRUPTION_EXACT", 0) != 0) {
        for (const auto& difference : differences.rows) {
          outcome.failures.push_back("the copy differs from what the engine reads: " + difference);
        }
      } else {
        outcome.rows_differ = fmt::format("case {} ({}, {}): {}", c.index, c.original->name,
                                          damaged.description, differences.rows.front());
      }
    }
  }
  if (c.inspect) check_inspect(input, damaged.bytes, outcome);
  for (auto& failure : outcome.failures) {
    failure = fmt::format("case {} ({}, {}, seed {:#018x}{}): {}", c.index, c.original->name,
                          damaged.description, c.seed, c.verify ? ", --verify" : "", failure);
  }
  return outcome;
}

TEST(CorruptionCampaign, EveryDamagedFileEndsCleanlyWithItsCausesCode) {
  const auto cases = env_number("HYPERDEFRAG_CORRUPTION_CASES", kDefaultCases);
  const auto seed = env_number("HYPERDEFRAG_CORRUPTION_SEED", kDefaultSeed);
  const Originals originals;
  ASSERT_GE(originals.files().size(), 2u);

  std::map<int, std::size_t> by_code;
  std::map<std::pair<std::string, int>, std::size_t> by_damage;
  std::map<int, std::string> example;  // one message per exit code
  std::map<int, std::size_t> inspect_by_code;
  std::vector<std::string> rows_differ;
  std::vector<std::string> compare_engine_died;
  std::vector<std::string> not_repeatable;
  std::map<int, std::size_t> example_case;  // one case index per exit code
  std::vector<std::string> failures;
  const auto started = Clock::now();
  const auto only = env_number("HYPERDEFRAG_CORRUPTION_ONLY", cases);
  for (std::size_t i = only < cases ? only : 0; i < (only < cases ? only + 1 : cases); ++i) {
    const auto c = make_case(originals, i, seed);
    auto outcome = run_case(c);
    ++by_code[outcome.exit_code];
    ++by_damage[{testing::damage_name(c.damage), outcome.exit_code}];
    if (!example.count(outcome.exit_code)) example[outcome.exit_code] = outcome.err;
    if (outcome.inspect_exit_code != -2) ++inspect_by_code[outcome.inspect_exit_code];
    if (!example_case.count(outcome.exit_code)) example_case[outcome.exit_code] = i;
    if (!outcome.rows_differ.empty()) rows_differ.push_back(outcome.rows_differ);
    if (!outcome.not_repeatable.empty()) not_repeatable.push_back(outcome.not_repeatable);
    if (!outcome.compare_engine_died.empty()) {
      compare_engine_died.push_back(outcome.compare_engine_died);
    }
    for (auto& failure : outcome.failures) {
      ADD_FAILURE() << failure << "\n  stderr: " << outcome.err;
      failures.push_back(std::move(failure));
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  std::cout << fmt::format("corruption campaign: {} cases from {} files, seed {:#018x}, {:.1f} s\n",
                           cases, originals.files().size(), seed, seconds);
  std::cout << "exit code  cases   (-1: hung)\n";
  for (const auto& [code, count] : by_code) {
    std::cout << fmt::format("{:>9}  {:>5}   e.g. case {}: {}", code, count, example_case[code],
                             example[code].empty() ? std::string("\n") : example[code]);
  }
  std::cout << "damage          exit code  cases\n";
  for (const auto& [key, count] : by_damage) {
    std::cout << fmt::format("{:<14}  {:>9}  {:>5}\n", key.first, key.second, count);
  }
  std::cout << "inspect: exit code  cases\n";
  for (const auto& [code, count] : inspect_by_code) {
    std::cout << fmt::format("{:>18}  {:>5}\n", code, count);
  }
  std::cout << fmt::format(
      "{} cases kept a copy (exit 0, without --verify: catalog and counts checked) whose rows "
      "differ by EXCEPT ALL from what the engine reads from the damaged input\n",
      rows_differ.size());
  for (const auto& line : rows_differ) std::cout << "  " << line << "\n";
  std::cout << fmt::format(
      "{} cases kept a copy (exit 0) of a damaged input that two engines read differently\n",
      not_repeatable.size());
  for (const auto& line : not_repeatable) std::cout << "  " << line << "\n";
  std::cout << fmt::format(
      "{} cases kept a copy (exit 0) of a damaged input that then killed the comparing engine\n",
      compare_engine_died.size());
  for (const auto& line : compare_engine_died) std::cout << "  " << line << "\n";
  std::cout << fmt::format("{} cases broke a property\n", failures.size());
}

// The corruptor itself: deterministic, and each kind damages what it says.
TEST(Corruptor, IsDeterministicAndDamagesAsItSays) {
  std::string original(10 * 4096 + 100, '\0');
  testing::Random fill(7);
  for (auto& byte : original) byte = static_cast<char>(fill.next() & 0xff);
  for (int kind = 0; kind < testing::kDamageKinds; ++kind) {
    const auto damage = static_cast<testing::Damage>(kind);
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
      const auto a = testing::corrupt(original, damage, seed);
      const auto b = testing::corrupt(original, damage, seed);
      EXPECT_EQ(a.bytes, b.bytes);
      EXPECT_EQ(a.description, b.description);
      EXPECT_NE(a.bytes, original) << a.description;
      if (damage == testing::Damage::truncation) {
        EXPECT_LT(a.bytes.size(), original.size());
        EXPECT_EQ(a.bytes, original.substr(0, a.bytes.size()));
      } else {
        ASSERT_EQ(a.bytes.size(), original.size());
        std::size_t first = original.size();
        std::size_t last = 0;
        std::size_t bits = 0;
        for (std::size_t i = 0; i < original.size(); ++i) {
          if (a.bytes[i] == original[i]) continue;
          first = std::min(first, i);
          last = i;
          bits += static_cast<std::size_t>(
              __builtin_popcount(static_cast<unsigned char>(a.bytes[i] ^ original[i])));
        }
        if (damage == testing::Damage::bit_flips) {
          EXPECT_LE(bits, 8u) << a.description;
        } else {
          // Everything changed lies inside one aligned 4 KiB block.
          EXPECT_EQ(first / 4096, last / 4096) << a.description;
        }
        if (damage == testing::Damage::zero_block) {
          const std::size_t begin = first / 4096 * 4096;
          const std::size_t end = std::min(original.size(), begin + 4096);
          EXPECT_EQ(a.bytes.substr(begin, end - begin), std::string(end - begin, '\0'));
        }
      }
    }
  }
  // Another seed gives another damage.
  EXPECT_NE(testing::corrupt(original, testing::Damage::random_block, 1).bytes,
            testing::corrupt(original, testing::Damage::random_block, 2).bytes);
}

}  // namespace
}  // namespace hyperdefrag
