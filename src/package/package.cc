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

#include "sql/interrupt.h"
#include "util/error.h"
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
  throw Error(ExitCode::bad_input, fmt::format("{}: {}", path.string(), cause));
}

[[noreturn]] void bad_output(const fs::path& path, const std::string& cause) {
  throw Error(ExitCode::bad_output, fmt::format("{}: {}", path.string(), cause));
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

// An error about one entry: "<package> [<entry>]: <cause>".
[[noreturn]] void entry_error(ExitCode code, const fs::path& package, const std::string& entry,
                              const std::string& cause) {
  throw Error(code, fmt::format("{} [{}]: {}", package.string(), entry, cause));
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
        error == ENOSPC ? ExitCode::no_space : ExitCode::internal, package, entry.name,
        fmt::format("cannot be extracted into {}: {}", target.string(), std::strerror(error)));
  };
  struct Partial {  // removed unless complete
    const fs::path& path;
    int fd = -1;
    bool complete = false;
    ~Partial() {
      if (fd >= 0) close(fd);
      if (!complete) unlink(path.c_str());
    }
  } partial{target};
  partial.fd = open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (partial.fd < 0) cannot_write(errno);
  std::uintmax_t total = have;
  for (;;) {
    if (total > declared) {
      entry_error(ExitCode::bad_input, package, entry.name,
                  fmt::format("holds more than the {} bytes the archive declares for it (a "
                              "damaged or hostile package); extraction stopped there",
                              declared));
    }
    for (std::size_t written = 0; written < have;) {
      const ssize_t n = write(partial.fd, buffer.data() + written, have - written);
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
  const int fd = std::exchange(partial.fd, -1);
  if (close(fd) != 0) cannot_write(errno);
  partial.complete = true;
}

// An error from an extract's run names the package and the entry, not the
// private directory the extract was copied to.
[[noreturn]] void rethrow_for_entry(const Error& error, const fs::path& package,
                                    const std::string& entry, const fs::path& extracted) {
  std::string message = error.what();
  const std::string prefix = extracted.string() + ": ";
  if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
  throw Error(error.code(), fmt::format("{} [{}]: {}", package.string(), entry, message));
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

bool is_package(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return extension == ".twbx" || extension == ".tdsx";
}

fs::path default_output_path(const fs::path& input) {
  return input.parent_path() / (input.stem().string() + ".new" + input.extension().string());
}

Unpacked::Unpacked(const fs::path& package) : dir_(temp_base(), "hyperdefrag-package-") {
  const auto archive = open_package(package);
  for (const auto& entry : list_entries(archive.get(), package)) {
    if (!entry.hyper) continue;
    const auto target = dir_.path() / fmt::format("{}.hyper", entry.index);
    extract_entry(archive.get(), entry, package, target);
    extracts_.push_back({entry.name, target, entry.stat.size});
  }
}

std::uintmax_t extracts_size(const fs::path& package) {
  const auto archive = open_package(package);
  std::uintmax_t total = 0;
  for (const auto& entry : list_entries(archive.get(), package)) {
    if (entry.hyper) total += entry.stat.size;
  }
  return total;
}

report::FileResult defragment_package(const PackageOptions& options, const DefragHooks& hooks) {
  const auto started = Clock::now();
  report::FileResult result;
  result.package = true;
  result.input = fs::absolute(options.input).lexically_normal();
  const bool in_place = options.defrag.in_place;
  result.output = in_place
                      ? result.input
                      : fs::absolute(options.output.value_or(default_output_path(options.input)))
                            .lexically_normal();
  std::optional<fs::path> backup;
  if (in_place && options.defrag.backup) {
    backup =
        fs::absolute(options.defrag.backup->empty()
                         ? result.input.parent_path() / (result.input.stem().string() + ".bak" +
                                                         result.input.extension().string())
                         : *options.defrag.backup)
            .lexically_normal();
    if (fs::exists(*backup) && !options.defrag.force) {
      bad_output(*backup, "already exists (use --force to replace it)");
    }
  }

  // 1. Preflight.
  const auto archive = open_package(result.input);
  const auto entries = list_entries(archive.get(), result.input);
  if (!in_place) check_output_path(result.input, result.output, options.defrag.force);
  result.size_before = hyperdefrag::file_size(result.input);

  // 2. and 3. Extract and defragment each .hyper entry.
  PrivateDir work(temp_base(), "hyperdefrag-package-");
  std::vector<fs::path> replacements(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    if (!entry.hyper) continue;
    const auto extracted = work.path() / fmt::format("{}.hyper", entry.index);
    replacements[i] = work.path() / fmt::format("{}.new.hyper", entry.index);
    extract_entry(archive.get(), entry, result.input, extracted);
    try {
      DefragOptions defrag = options.defrag;
      defrag.input = extracted;
      defrag.output = replacements[i];
      defrag.force = false;
      // In place, the package is what gets replaced; each extract is a copy
      // whose every row is compared before the package is rewritten.
      defrag.in_place = false;
      defrag.backup.reset();
      defrag.verify = defrag.verify || in_place;
      auto report = defragment(defrag, hooks);
      report.input = result.input / entry.name;
      report.output = result.output / entry.name;
      result.extracts.push_back({entry.name, std::move(report)});
    } catch (const Error& error) {
      rethrow_for_entry(error, result.input, entry.name, extracted);
    }
    fs::remove(extracted);
  }

  // 4. The new archive, under a temporary name beside the output.
  TempFile temp(result.output);
  int code = 0;
  ZipPtr out(zip_open(temp.path().c_str(), ZIP_CREATE | ZIP_EXCL, &code));
  if (!out)
    bad_output(result.output,
               fmt::format("cannot create {} (libzip error {})", temp.path().string(), code));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (add_entry(out.get(), archive.get(), entries[i], replacements[i]) < 0) {
      throw Error(ExitCode::internal,
                  fmt::format("{}: cannot add {} to the new package: {}", result.output.string(),
                              entries[i].name, zip_message(out.get())));
    }
  }
  int comment_length = 0;
  const char* comment = zip_get_archive_comment(archive.get(), &comment_length, ZIP_FL_ENC_RAW);
  if (comment != nullptr && comment_length > 0) {
    zip_set_archive_comment(out.get(), comment, static_cast<zip_uint16_t>(comment_length));
  }
  sql::throw_if_interrupted();
  if (zip_close(out.get()) != 0) {
    bad_output(result.output,
               fmt::format("cannot write the new package: {}", zip_message(out.get())));
  }
  out.release();  // zip_close freed it

  // 5. Into place; in place, the original first gets its backup name (a hard
  // link, so it stays whole until the rename replaces the package).
  if (backup) {
    std::error_code ignored;
    fs::remove(*backup, ignored);
    fs::create_hard_link(result.input, *backup);
  }
  temp.commit(in_place || options.defrag.force ? Replace::yes : Replace::no);
  result.size_after = hyperdefrag::file_size(result.output);
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace hyperdefrag::package
