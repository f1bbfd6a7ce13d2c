#include "report/progress.h"

#include <fmt/format.h>

#include "report/report.h"
#include "util/files.h"
#include "util/text.h"

namespace hyperdefrag::report {
namespace {

using Clock = std::chrono::steady_clock;

std::uintmax_t size_or_zero(const std::filesystem::path& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

}  // namespace

std::optional<double> seconds_left(std::uintmax_t written, double elapsed,
                                   std::uintmax_t expected) {
  if (written == 0 || elapsed <= 0) return std::nullopt;
  if (expected <= written) return 0.0;
  const double rate = static_cast<double>(written) / elapsed;
  return static_cast<double>(expected - written) / rate;
}

std::string clock_time(double seconds) {
  const auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600)
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

Progress::Progress(Console& console, std::size_t files) : console_(console), files_(files) {
  if (console_.progress_wanted()) thread_ = std::thread([this] { run(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  console_.clear_status();
}

void Progress::file_started(std::size_t slot, const std::filesystem::path& input,
                            std::uintmax_t input_size) {
  std::lock_guard lock(mutex_);
  active_[slot] = Active{input, input_size, std::nullopt, 0, Clock::now()};
}

void Progress::table_started(std::size_t slot, const TableStart& table) {
  const auto size = size_or_zero(table.output_temp);
  std::lock_guard lock(mutex_);
  auto& active = active_[slot];
  active.table = table;
  active.size_at_table_start = size;
  active.table_started = Clock::now();
}

void Progress::table_done(std::size_t slot, const TableResult& table) {
  std::lock_guard lock(mutex_);
  auto& active = active_[slot];
  if (active.table && table.rows > 0) {
    const auto size = size_or_zero(active.table->output_temp);
    if (size > active.size_at_table_start) {
      learned_bytes_ += size - active.size_at_table_start;
      learned_rows_ += table.rows;
    }
  }
  active.table.reset();
}

void Progress::file_done(std::size_t slot) {
  std::lock_guard lock(mutex_);
  active_.erase(slot);
  ++files_done_;
}

std::string Progress::render() {
  std::lock_guard lock(mutex_);
  std::string line = files_ > 1 ? fmt::format("[{}/{} files] ", files_done_, files_) : "";
  if (active_.empty()) return line + "starting";
  const auto& [slot, active] = *active_.begin();
  if (!active.table)
    return line + fmt::format("{}: reading the catalog", active.input.filename().string());
  const auto& table = *active.table;
  const auto size = size_or_zero(table.output_temp);
  const std::uintmax_t written =
      size > active.size_at_table_start ? size - active.size_at_table_start : 0;
  const double elapsed = std::chrono::duration<double>(Clock::now() - active.table_started).count();
  line += fmt::format("{} table {}/{} \"{}\".\"{}\" ({} rows): {} written",
                      active.input.filename().string(), table.index + 1, table.count, table.schema,
                      table.name, with_commas(table.rows), human_size(written));
  if (elapsed > 0 && written > 0)
    line += fmt::format(", {}/s", human_size(static_cast<std::uintmax_t>(written / elapsed)));
  line += fmt::format(", {} elapsed", clock_time(elapsed));
  if (learned_rows_ > 0) {
    const auto expected = static_cast<std::uintmax_t>(static_cast<double>(learned_bytes_) /
                                                      learned_rows_ * table.rows);
    if (const auto left = seconds_left(written, elapsed, expected))
      line += fmt::format(", ~{} left", clock_time(*left));
  } else if (table.file_row_versions > 0) {
    // The table's live rows as a share of every row version the input holds.
    const auto expected = static_cast<std::uintmax_t>(static_cast<double>(active.input_size) *
                                                      table.rows / table.file_row_versions);
    if (const auto left = seconds_left(written, elapsed, expected))
      line += fmt::format(", ~{} left", clock_time(*left));
  } else if (const auto left = seconds_left(written, elapsed, active.input_size)) {
    line += fmt::format(", <= {} left", clock_time(*left));
  }
  if (active_.size() > 1) line += fmt::format(" (+{} more files running)", active_.size() - 1);
  return line;
}

void Progress::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stop_) break;
    lock.unlock();
    console_.status(render());
    lock.lock();
  }
}

}  // namespace hyperdefrag::report
