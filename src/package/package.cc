#include "package/package.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>

#include "defrag/place.h"
#include "sql/interrupt.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/files.h"
#include "util/free_space.h"
#include "util/hyper_file.h"

namespace hyperdefrag::package {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

struct ZipDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

[[noreturn]] void bad_input(const fs::path& path, const std::string& cause) {
  throw Error(ExitCode::bad_input, path, cause);
}

std::string zip_message(zip_t* archive) { return zip_error_strerror(zip_get_error(archive)); }

bool is_hyper_entry(const std::string& name) {
  if (name.size() < 6 || name.back() == '/') return false;
  std::string tail = name.substr(name.size() - 6);
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return tail == ".hyper";
}

ZipPtr open_package(const fs::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) bad_input(path, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) bad_input(path, "is a directory, not a packaged workbook");
  if (!S_ISREG(info.st_mode)) bad_input(path, "is not a regular file");
  if (info.st_size == 0) bad_input(path, "is empty, not a packaged workbook (a zip archive)");
  if (access(path.c_str(), R_OK) != 0)
    bad_input(path, fmt::format("cannot be read: {}", std::strerror(errno)));
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    if (code == ZIP_ER_NOZIP)
      bad_input(path, "is not a packaged workbook or data source (not a zip archive)");
    bad_input(path, fmt::format("cannot be opened as a zip archive: {}", message));
  }
  return ZipPtr(archive);
}

struct Entry {
  zip_uint64_t index = 0;
  std::string name;  // raw bytes, as stored
  zip_stat_t stat{};
  bool hyper = false;
};

std::vector<Entry> list_entries(zip_t* archive, const fs::path& path) {
  std::vector<Entry> entries;
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    Entry entry;
    entry.index = static_cast<zip_uint64_t>(i);
    const char* name = zip_get_name(archive, entry.index, ZIP_FL_ENC_RAW);
    if (name == nullptr || zip_stat_index(archive, entry.index, ZIP_FL_ENC_RAW, &entry.stat) != 0) {
      bad_input(path, fmt::format("entry {} cannot be read: {}", i, zip_message(archive)));
    }
    entry.name = name;
    entry.hyper = is_hyper_entry(entry.name);
    entries.push_back(std::move(entry));
  }
  if (std::none_of(entries.begin(), entries.end(), [](const Entry& e) { return e.hyper; })) {
    bad_input(path, "holds no .hyper extract");
  }
  return entries;
}

[[noreturn]] void entry_error(ExitCode code, const fs::path& package, const std::string& entry,
                              const std::string& cause) {
  throw Error(code, entry_subject(package, entry), cause);
}

// Reads up to `size` bytes of `file` into `buffer`, fewer only at the end of
// the stream. Throws (bad input) naming the entry if libzip reports an error
// (a CRC mismatch or a damaged stream, for example).
std::size_t read_entry(zip_file_t* file, char* buffer, std::size_t size, const fs::path& package,
                       const Entry& entry) {
  std::size_t got = 0;
  while (got < size) {
    const zip_int64_t n = zip_fread(file, buffer + got, size - got);
    if (n < 0) {
      entry_error(ExitCode::bad_input, package, entry.name,
                  fmt::format("cannot be read: {}", zip_error_strerror(zip_file_get_error(file))));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

// Extracts one entry into `target` (a new file), refusing it before it costs
// disk: its first bytes must be Hyper's file header, the file system must
// have its declared uncompressed size free, and extraction stops (and the
// entry is refused) as soon as the stream runs past that size. On failure
// the partial file is removed.
void extract_entry(zip_t* archive, const Entry& entry, const fs::path& package,
                   const fs::path& target) {
  zip_file_t* file = zip_fopen_index(archive, entry.index, 0);
  if (file == nullptr) {
    entry_error(ExitCode::bad_input, package, entry.name,
                fmt::format("cannot be read: {}", zip_message(archive)));
  }
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> owner(file, &zip_fclose);
  const std::uintmax_t declared = (entry.stat.valid & ZIP_STAT_SIZE) != 0 ? entry.stat.size : 0;

  // 1. The header, read into memory: nothing is written for a non-Hyper entry.
  std::vector<char> buffer(1 << 20);
  std::size_t have = read_entry(file, buffer.data(), kHyperHeaderSize, package, entry);
  if (!has_hyper_header(std::string_view(buffer.data(), have))) {
    entry_error(ExitCode::bad_input, package, entry.name, std::string(kNotHyperCause));
  }
  // 2. Room for the whole entry, as the archive declares it.
  const fs::path directory = target.parent_path();
  if (const auto available = free_bytes(directory); available < declared) {
    entry_error(ExitCode::no_space, package, entry.name,
                fmt::format("not enough free disk space in {} to extract it: it needs {} and {} "
                            "is free",
                            directory.string(), human_size(declared), human_size(available)));
  }
  // 3. The rest, never more than the declared size.
  const auto cannot_write = [&](int error) {
    entry_error(
        error == ENOSPC || error == EDQUOT ? ExitCode::no_space : ExitCode::bad_output, package,
        entry.name,
        fmt::format("cannot be extracted into {}: {}", target.string(), std::strerror(error)));
  };
  struct Partial {  // removed unless complete
    const fs::path& path;
    Fd fd;
    bool complete = false;
    ~Partial() {
      fd.reset();
      if (!complete) unlink(path.c_str());
    }
  } partial{target, Fd(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600))};
  if (!partial.fd.valid()) cannot_write(errno);
  std::uintmax_t total = have;
  for (;;) {
    if (total > declared) {
      entry_error(ExitCode::bad_input, package, entry.name,
                  fmt::format("holds more than the {} bytes the archive declares for it (a "
                              "damaged or hostile package); extraction stopped there",
                              declared));
    }
    for (std::size_t written = 0; written < have;) {
      const ssize_t n = write(partial.fd.get(), buffer.data() + written, have - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) cannot_write(errno);
      written += static_cast<std::size_t>(n);
    }
    sql::throw_if_interrupted();
    // One byte more than the declared rest, to notice a stream that runs past it.
    const std::uintmax_t rest = declared - total + 1;
    have = read_entry(file, buffer.data(),
                      static_cast<std::size_t>(std::min<std::uintmax_t>(buffer.size(), rest)),
                      package, entry);
    if (have == 0) break;
    total += have;
  }
  if (total != declared) {
    entry_error(
        ExitCode::bad_input, package, entry.name,
        fmt::format("holds {} bytes, not the {} the archive declares for it", total, declared));
  }
  if (close(partial.fd.release()) != 0) cannot_write(errno);
  partial.complete = true;
}

// Step 4's copy of one entry into `out`; returns its new index.
zip_int64_t add_entry(zip_t* out, zip_t* in, const Entry& entry, const fs::path& replacement) {
  const bool directory = !entry.name.empty() && entry.name.back() == '/';
  zip_int64_t index = -1;
  if (directory) {
    index = zip_dir_add(out, entry.name.c_str(), ZIP_FL_ENC_RAW);
  } else {
    zip_source_t* source = replacement.empty() ? zip_source_zip(out, in, entry.index, 0, 0,
                                                                -1)  // compressed data as is
                                               : zip_source_file(out, replacement.c_str(), 0, -1);
    if (source == nullptr) return -1;
    index = zip_file_add(out, entry.name.c_str(), source, ZIP_FL_ENC_RAW);
    if (index < 0) {
      zip_source_free(source);
      return -1;
    }
  }
  if (index < 0) return -1;
  const auto i = static_cast<zip_uint64_t>(index);
  if ((entry.stat.valid & ZIP_STAT_MTIME) != 0 &&
      zip_file_set_mtime(out, i, entry.stat.mtime, 0) != 0)
    return -1;
  // The original method: a copied entry is then not recompressed.
  if (!directory && (entry.stat.valid & ZIP_STAT_COMP_METHOD) != 0 &&
      zip_set_file_compression(out, i, entry.stat.comp_method, 0) != 0) {
    return -1;
  }
  zip_uint8_t system = 0;
  zip_uint32_t attributes = 0;
  if (zip_file_get_external_attributes(in, entry.index, 0, &system, &attributes) == 0 &&
      zip_file_set_external_attributes(out, i, 0, system, attributes) != 0) {
    return -1;
  }
  zip_uint32_t comment_length = 0;
  const char* comment = zip_file_get_comment(in, entry.index, &comment_length, ZIP_FL_ENC_RAW);
  if (comment != nullptr && comment_length > 0 &&
      zip_file_set_comment(out, i, comment, static_cast<zip_uint16_t>(comment_length), 0) != 0) {
    return -1;
  }
  return index;
}

}  // namespace

namespace {

// Step 2: every .hyper entry of `entries`, extracted into `dir` as
// "<index>.hyper", in the archive's order.
std::vector<Unpacked::Extract> extract_all(zip_t* archive, const std::vector<Entry>& entries,
                                           const fs::path& package, const fs::path& dir) {
  std::vector<Unpacked::Extract> extracts;
  for (const auto& entry : entries) {
    if (!entry.hyper) continue;
    const auto target = dir / fmt::format("{}.hyper", entry.index);
    extract_entry(archive, entry, package, target);
    extracts.push_back({entry.name, target, entry.stat.size});
  }
  return extracts;
}

}  // namespace

Unpacked::Unpacked(const fs::path& package) : dir_(temp_base(), "hyperdefrag-package-") {
  const auto archive = open_package(package);
  extracts_ =
      extract_all(archive.get(), list_entries(archive.get(), package), package, dir_.path());
}

namespace {

// Step 1a for a package: a readable zip archive holding a .hyper entry; its
// extracts need twice their size in the temporary directory (extracted, and
// compacted).
std::vector<SpaceNeed> check_package(const fs::path& path) {
  const auto archive = open_package(path);
  std::uintmax_t extracts = 0;
  for (const auto& entry : list_entries(archive.get(), path)) {
    if (entry.hyper) extracts += entry.stat.size;
  }
  return {{temp_base(), 2 * extracts}};
}

// Step 4: the new archive, written into `temp` (which exists, empty and
// 0600, so that libzip keeps that mode), then reopened and checked.
void write_archive(zip_t* in, const std::vector<Entry>& entries,
                   const std::vector<fs::path>& replacements, const fs::path& temp,
                   const fs::path& output) {
  int code = 0;
  ZipPtr out(zip_open(temp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!out) {
    throw Error(ExitCode::bad_output, output,
                fmt::format("cannot create {} (libzip error {})", temp.string(), code));
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (add_entry(out.get(), in, entries[i], replacements[i]) < 0) {
      throw Error(ExitCode::bad_output, output,
                  fmt::format("cannot add {} to the new package: {}", entries[i].name,
                              zip_message(out.get())));
    }
  }
  int comment_length = 0;
  const char* comment = zip_get_archive_comment(in, &comment_length, ZIP_FL_ENC_RAW);
  if (comment != nullptr && comment_length > 0 &&
      zip_set_archive_comment(out.get(), comment, static_cast<zip_uint16_t>(comment_length)) != 0) {
    throw Error(ExitCode::bad_output, output,
                fmt::format("cannot keep the archive's comment: {}", zip_message(out.get())));
  }
  sql::throw_if_interrupted();
  if (zip_close(out.get()) != 0) {
    const int system_error = zip_error_code_system(zip_get_error(out.get()));
    throw Error(system_error == ENOSPC || system_error == EDQUOT ? ExitCode::no_space
                                                                 : ExitCode::bad_output,
                output, fmt::format("cannot write the new package: {}", zip_message(out.get())));
  }
  out.release();  // zip_close freed it

  // Reopened: the same entries, in the same order, each compacted extract
  // at its compacted size.
  const auto written = open_package(temp);
  const auto found = list_entries(written.get(), temp);
  bool same = found.size() == entries.size();
  for (std::size_t i = 0; same && i < entries.size(); ++i) {
    same =
        found[i].name == entries[i].name &&
        (replacements[i].empty() ? found[i].stat.size == entries[i].stat.size
                                 : found[i].stat.size == hyperdefrag::file_size(replacements[i]));
  }
  if (!same) {
    throw Error(ExitCode::verify_failed, output,
                "the new package does not hold the input's entries; it was not kept");
  }
}

}  // namespace

fs::path entry_subject(const fs::path& package, const std::string& entry) {
  return fmt::format("{} [{}]", package.string(), entry);
}

std::unique_ptr<Prepared> preflight(const DefragOptions& options, DryRun dry_run) {
  return std::make_unique<Prepared>(destination_for(options), check_package, dry_run);
}

std::optional<PackageReport> defragment_package(const DefragOptions& options,
                                                const DefragHooks& hooks,
                                                const ExtractsCheck& go_on) {
  const auto started = Clock::now();

  // 1. Preflight of the package file.
  const auto prepared = package::preflight(options, DryRun::no);
  const Destination& destination = prepared->destination();
  PackageReport result;
  result.input = destination.input;
  result.output = destination.output;
  result.size_before = prepared->input_state().size;
  const auto archive = open_package(result.input);
  const auto entries = list_entries(archive.get(), result.input);

  // 2. Extract every .hyper entry; the caller may stop here.
  PrivateDir work(temp_base(), "hyperdefrag-package-");
  const auto extracts = extract_all(archive.get(), entries, result.input, work.path());
  if (go_on && !go_on(extracts)) return std::nullopt;

  // 3. Defragment each extract.
  std::vector<fs::path> replacements(entries.size());
  auto extract = extracts.begin();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    if (!entry.hyper) continue;
    const fs::path extracted = (extract++)->path;
    replacements[i] = work.path() / fmt::format("{}.new.hyper", entry.index);
    try {
      DefragOptions defrag = options;
      defrag.input = extracted;
      defrag.output = replacements[i];
      defrag.force = Force::no;
      // In place, the package is what gets replaced; each extract is a copy
      // whose every row is compared before the package is rewritten.
      defrag.in_place = false;
      defrag.backup.reset();
      defrag.verify = defrag.verify || destination.in_place;
      auto report = defragment(defrag, hooks);
      report.input = result.input / entry.name;
      report.output = result.output / entry.name;
      result.extracts.push_back({entry.name, std::move(report)});
    } catch (const Error& error) {
      // The error names the package and the entry, not the private copy.
      throw error.about(entry_subject(result.input, entry.name));
    }
    std::error_code ignored;
    fs::remove(extracted, ignored);
  }

  // 4. The new archive, under the package's temporary name.
  prepared->temp().create();
  write_archive(archive.get(), entries, replacements, prepared->temp().path(), result.output);
  prepared->temp().seal();

  // 5. Into place. Its note names a version only when every extract was
  // written in one asked for.
  place(*prepared, options.target_version);
  result.size_after = hyperdefrag::file_size(result.output);
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace hyperdefrag::package
