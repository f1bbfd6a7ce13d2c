// How big a .hyper file would be after compaction, estimated without writing
// the copy. Method ("sample"), measured in docs/CHECK.md:
//  1. A scratch database of the wanted format version gets every schema and
//     table of the input (as defrag recreates them), and the rows of every
//     table of at most kFullCopyRows live rows, copied as defrag copies
//     them. Its size after DETACH is exact for those tables.
//  2. A larger table is sampled in two scratch databases holding only that
//     table, each filled by two INSERTs of kRowsPerInsert rows with a DETACH
//     after each: one gets two Bernoulli samples (TABLESAMPLE BERNOULLI ...
//     REPEATABLE, seeds 1 and 2), the other the table's first and its last
//     kRowsPerInsert rows in scan order (LIMIT, then LIMIT ... OFFSET; the
//     last rows are where updates appended theirs). A table's first INSERT
//     into an empty file costs more than the rows it holds (1.4 MB for 24 columns)
//     (the file grows in steps of up to two blocks), which scaled up by live
//     rows / sampled rows made the estimate of a 1 GB file 6% of its size too
//     large; so each part's estimate is the first INSERT's growth plus the
//     second's growth per row times the rows left (the marginal size of a
//     row). The Bernoulli part errs high (a sample loses the neighbourhood
//     that compression uses), the ends err low on fragmented tables; the
//     estimate is their mean, its uncertainty half their difference plus the
//     file-size granularity scaled by live rows / rows of one INSERT.
//     Measured at 100 MB to 1 GB: within 2.6% of the input's size.
//     (Tried and dropped: one INSERT per part, scaled (+4 to +8% of the
//     input at 1 GB); inserts of one 65,536-row block (+25 to +46%: the
//     growth steps swamp them); ROW_NUMBER() OVER () runs, which read the
//     whole table and cost as much as the copy.)
// The file's estimate is the scratch database of step 1 plus every sampled
// table, capped at the input's size (check.cc; see cap_at_input).
// The parts of step 2 are measured on several engine sessions at once (as
// many as defrag copies tables on), beside step 1: a sample's INSERT into a
// small file leaves a core idle, and two checks of one large table at once
// took as long as one (docs/CHECK.md, "Speed").
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

// Rows of each sample INSERT: two of the engine's compressed blocks of 65,536
// rows (one block per INSERT is lost in the file's growth steps: measured).
constexpr long long kRowsPerInsert = 131'072;
// Two parts (Bernoulli, the ends) of two INSERTs each.
constexpr long long kSampledRows = 4 * kRowsPerInsert;
// A table of at most as many live rows as its sample would insert is copied
// whole into the scratch database: exact, and no slower.
constexpr long long kFullCopyRows = kSampledRows;
// A .hyper file grows in steps of this many bytes (measured; docs/CHECK.md).
constexpr std::uintmax_t kFileGranularity = 64 * 1024;

// One scratch part of a sampled table: the rows of its first INSERT and the
// bytes the file grew by, then the same for its second INSERT.
struct SamplePart {
  long long rows = 0;
  std::uintmax_t bytes = 0;
  long long more_rows = 0;
  std::uintmax_t more_bytes = 0;
};

// A number of bytes with its uncertainty (about one standard error).
struct Sized {
  double bytes = 0;
  double uncertainty = 0;
};

// A part's estimate of a table of `rows` live rows: its first INSERT's growth
// plus the second's growth per row for the rows the first did not hold (the
// first's growth scaled, when the second INSERT had no rows; both INSERTs'
// growth scaled together, when the second did not grow the file).
double scale_part(long long rows, const SamplePart& part);

// The estimated data size of a table of `rows` live rows from its two sample
// parts (a part with no rows is left out): their mean, with half their
// difference plus kFileGranularity scaled by rows / rows of an INSERT as uncertainty.
Sized blend_sample(long long rows, const SamplePart& bernoulli, const SamplePart& ends);

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
  // Only when sampled: what each part alone says of the data (scale_part);
  // `data` is their mean.
  double bernoulli_bytes = 0;
  double ends_bytes = 0;
};

struct FileEstimate {
  int version = 0;                    // the format version estimated for
  Sized size;                         // the estimated compacted file
  std::vector<TableEstimate> tables;  // in the catalog's order
  std::uintmax_t exact_bytes = 0;     // the shared scratch database
  double seconds = 0;
};

// The input file of an estimate: `path`, attached read-only as `alias` on
// `connection`, a session of the engine at `endpoint` (where further
// sessions attach it too).
struct Attachment {
  sql::Connection& connection;
  const sql::Endpoint& endpoint;
  std::filesystem::path path;
  std::string alias;
};

// How many sample parts are measured at once when not told: the machine's
// cores, at least 1 and at most 4 (as defrag copies tables).
int default_sample_jobs();

// Estimates the compacted size, in format `version`, of the database
// `input`, whose catalog is `catalog` and whose tables have `rows` live rows
// and `row_versions` stored row versions (in the catalog's order). Scratch
// databases are made in `scratch_dir` and removed before it returns. The
// sample parts of step 2 are measured on up to `jobs` sessions at once (each
// part in its own scratch database, so the parts cannot disturb each other's
// sizes): `input.connection` once step 1 is done, and sessions of their own
// that attach the input read-only. Throws sql::SqlError if the engine
// refuses a statement (the first error of any session; the others stop at
// their next part).
FileEstimate estimate_compacted(const Attachment& input, const catalog::Catalog& catalog,
                                const std::vector<long long>& rows,
                                const std::vector<long long>& row_versions, int version,
                                const std::filesystem::path& scratch_dir,
                                int jobs = default_sample_jobs());

// The TABLESAMPLE percentage that takes about `wanted` of `rows` rows, as SQL
// text: "100" when that is all of them.
std::string sample_percent(long long rows, long long wanted);

}  // namespace hyperdefrag::check
