// The live status line of a run: which file and table, how many of how many,
// and for the table being copied the bytes written so far, the write rate,
// the elapsed time and an estimate of what remains.
//
// What it observes: the output file's growth. While INSERT ... SELECT runs,
// the engine writes the output (under its temporary name) steadily; no other
// input-side counter moves (docs/USAGE.md, "Progress", has the measurements).
// The expected size of the table's output: its rows (counted before its copy)
// times the output bytes per row of the tables already done in this run; or,
// before any is done, the input's size times the table's live share (rows over
// the row versions the input ever stored); "~0:12 left". With neither, the
// input's size bounds the output's: "<= 0:40 left".
//
// Shown only on a terminal (report/console.h); a thread redraws it a few
// times a second and stops with the object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "defrag/defrag.h"
#include "report/console.h"

namespace hyperdefrag::report {

// Seconds left to write `expected` bytes when `written` took `elapsed`
// seconds; absent when there is no basis yet.
std::optional<double> seconds_left(std::uintmax_t written, double elapsed, std::uintmax_t expected);

// "1:05", "0:07", "1:02:03"
std::string clock_time(double seconds);

class Progress {
 public:
  Progress(Console& console, std::size_t files);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Each file of the run has its own `slot` (its index in the run).
  void file_started(std::size_t slot, const std::filesystem::path& input,
                    std::uintmax_t input_size);
  void table_started(std::size_t slot, const TableStart& table);
  void table_done(std::size_t slot, const TableResult& table);
  void file_done(std::size_t slot);

  // The current status line (what the thread draws).
  std::string render();

 private:
  struct Active {
    std::filesystem::path input;
    std::uintmax_t input_size = 0;
    std::optional<TableStart> table;
    std::uintmax_t size_at_table_start = 0;
    std::chrono::steady_clock::time_point table_started;
  };
  void run();

  Console& console_;
  std::size_t files_;
  std::size_t files_done_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<std::size_t, Active> active_;
  // Learned from the tables done so far: output bytes and rows.
  std::uintmax_t learned_bytes_ = 0;
  long long learned_rows_ = 0;
  std::thread thread_;
};

}  // namespace hyperdefrag::report
