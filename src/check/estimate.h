// How big a .hyper file would be after compaction, estimated without writing
// the copy. Method ("sample"), measured in docs/CHECK.md:
//  1. A scratch database of the wanted format version gets every schema and
//     table of the input (as defrag recreates them), and the rows of every
//     table of at most kFullCopyRows live rows, copied as defrag copies
//     them. Its size after DETACH is exact for those tables.
//  2. A larger table is sampled, in two scratch databases holding only that
//     table: one gets a Bernoulli sample of kRowsPerPart rows (TABLESAMPLE
//     BERNOULLI ... REPEATABLE; the scan is parallel, so two runs can still
//     differ by about the uncertainty), the
//     other two runs of kRowsPerPart/2 neighbouring rows (numbered by one
//     scan, ROW_NUMBER() OVER ()), from a quarter and three quarters into the
//     table. Each part's growth, scaled by live rows / sampled rows, estimates
//     the table's data. Measured (docs/CHECK.md): the Bernoulli part errs
//     high on compact tables (it loses the neighbourhood that compression
//     uses), the runs err low on fragmented ones (a real copy interleaves the
//     parallel scan's pieces). So the estimate is their mean, its uncertainty
//     half their difference plus the file-size granularity scaled alike.
//     (Weighting them by the live share was tried: the runs alone err high on
//     compact wide tables and low on compact narrow ones.) The first rows alone
//     (LIMIT) miss the rows that updates appended at a table's end (-20% of the output), and
//     LIMIT/OFFSET runs overlap under a parallel scan.
// The file's estimate is the scratch database of step 1 plus every sampled
// table, capped at the input's size (check.cc; see cap_at_input).
// The share of live rows among row versions (pg_class.reltuples) alone misses
// by 6 to 19% of the input's size (docs/CHECK.md), so it is reported but not
// used for the size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "sql/connection.h"

namespace hyperdefrag::check {

// Rows in each sample part: two of the engine's compressed blocks of 65,536 rows.
constexpr long long kRowsPerPart = 131'072;
constexpr int kSampleParts = 2;
// A table of at most this many live rows is copied whole into the scratch database.
constexpr long long kFullCopyRows = kRowsPerPart * kSampleParts;
// A .hyper file grows in steps of this many bytes (measured; docs/CHECK.md).
constexpr std::uintmax_t kFileGranularity = 64 * 1024;

// One scratch part of a sampled table: rows copied and the bytes they added.
struct SamplePart {
  long long rows = 0;
  std::uintmax_t bytes = 0;
};

// A number of bytes with its uncertainty (about one standard error).
struct Sized {
  double bytes = 0;
  double uncertainty = 0;
};

// The estimated data size of a table of `rows` live rows from its two sample
// parts (a part with no rows is left out), each scaled to `rows`: their mean,
// with half their difference plus kFileGranularity scaled alike as uncertainty.
Sized blend_sample(long long rows, const SamplePart& bernoulli, const SamplePart& runs);

// The estimated file: the scratch database measured whole (`exact_bytes`)
// plus every sampled table's data; uncertainties add up, plus one
// kFileGranularity for the whole file.
Sized combine(std::uintmax_t exact_bytes, const std::vector<Sized>& sampled);

// A compaction does not make a file larger than it is (measured: at most 2%
// larger, docs/CHECK.md), while a sample of a compact table errs high: the
// estimate is capped at the input's size.
Sized cap_at_input(Sized estimate, std::uintmax_t input_size);

// The size the share of live rows alone predicts: size * rows / row_versions
// (the size itself when row_versions is 0).
double live_share_size(std::uintmax_t size, long long rows, long long row_versions);

// Saving in bytes and percent of `size` (negative when the estimate is larger).
double saving_bytes(std::uintmax_t size, double estimated);
double saving_percent(std::uintmax_t size, double estimated);

// What was measured for one table.
struct TableEstimate {
  long long rows = 0;
  bool sampled = false;  // false: copied whole into the shared scratch database
  long long sampled_rows = 0;
  double live_share = 1;  // rows / row versions
  Sized data;             // only when sampled: the estimated bytes of its data
};

struct FileEstimate {
  int version = 0;                    // the format version estimated for
  Sized size;                         // the estimated compacted file
  std::vector<TableEstimate> tables;  // in the catalog's order
  std::uintmax_t exact_bytes = 0;     // the shared scratch database
  double seconds = 0;
};

// Estimates the compacted size, in format `version`, of the database attached
// as `alias` (read-only) whose catalog is `catalog` and whose tables have
// `rows` live rows and `row_versions` stored row versions (in the catalog's order). Scratch
// databases are made in `scratch_dir` and removed before it returns. Throws sql::SqlError if the
// engine refuses a statement.
FileEstimate estimate_compacted(sql::Connection& connection, const std::string& alias,
                                const catalog::Catalog& catalog, const std::vector<long long>& rows,
                                const std::vector<long long>& row_versions, int version,
                                const std::filesystem::path& scratch_dir);

// The TABLESAMPLE percentage that takes about `wanted` of `rows` rows, as SQL
// text: "100" when that is all of them.
std::string sample_percent(long long rows, long long wanted);

}  // namespace hyperdefrag::check
