// scripts/setup.sh on a tree whose build fails: it must exit non-zero with the
// compiler's message, even when a binary of an earlier, successful build is
// still in build/. The copy reuses this build's engine (HYPERDEFRAG_PROJECT_VENV),
// so nothing is downloaded, and the broken file is the first one compiled, so
// the build fails within seconds.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;

struct ShellResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with sh, stdout and stderr captured together.
ShellResult shell(const std::string& command) {
  ShellResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string quoted(const fs::path& path) {
  std::string out = "'";
  for (char c : path.string()) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Copies the project's files (those git tracks, or every file but the build,
// the engine and .git when git cannot tell) from the source tree to `target`.
void copy_source_tree(const fs::path& target) {
  const fs::path source = HYPERDEFRAG_SOURCE_DIR;
  const auto listed =
      shell(fmt::format("git -C {} ls-files --cached --others --exclude-standard", quoted(source)));
  std::vector<fs::path> files;
  if (listed.exit_code == 0) {
    std::size_t start = 0;
    while (start < listed.output.size()) {
      const auto end = listed.output.find('\n', start);
      files.emplace_back(listed.output.substr(start, end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } else {
    for (auto it = fs::recursive_directory_iterator(source);
         it != fs::recursive_directory_iterator(); ++it) {
      const auto relative = fs::relative(it->path(), source);
      const auto top = relative.begin()->string();
      if (top == "build" || top == ".venv" || top == ".git") {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(relative);
    }
  }
  for (const auto& file : files) {
    if (file.empty() || !fs::is_regular_file(source / file)) continue;  // deleted, not committed
    fs::create_directories((target / file).parent_path());
    fs::copy_file(source / file, target / file, fs::copy_options::copy_symlinks);
  }
  fs::permissions(target / "scripts" / "setup.sh", fs::perms::owner_exec, fs::perm_options::add);
}

TEST(SetupScript, FailsWithTheCompilersMessageWhenTheBuildFails) {
  const fs::path venv = HYPERDEFRAG_PROJECT_VENV;
  if (!fs::exists(venv / "bin" / "python")) {
    GTEST_SKIP() << "no project virtual environment at " << venv
                 << " (the engine comes from elsewhere here); setup.sh would download it";
  }
  testing::ScratchDir dir;
  const fs::path tree = dir / "tree";
  copy_source_tree(tree);
  ASSERT_TRUE(fs::exists(tree / "CMakeLists.txt"));

  // The first source of the library is compiled first: a missing header stops
  // its compiler at once.
  const fs::path broken = tree / "src" / "catalog" / "catalog.cc";
  ASSERT_TRUE(fs::exists(broken));
  testing::write_bytes(
      broken, "#include \"setup_test_deliberately_missing.h\"\n" + testing::read_bytes(broken));
  // A binary of an earlier, successful build, as a tree that built once has.
  fs::create_directories(tree / "build");
  fs::copy_file(HYPERDEFRAG_BINARY, tree / "build" / "hyperdefrag");

  const auto result = shell(fmt::format("HYPERDEFRAG_PROJECT_VENV={} timeout 300 {}", quoted(venv),
                                        quoted(tree / "scripts" / "setup.sh")));

  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.exit_code, 124) << "setup.sh did not finish within 300 s";
  EXPECT_TRUE(
      contains(result.output, "setup_test_deliberately_missing.h: No such file or directory"))
      << result.output;
  EXPECT_TRUE(contains(result.output, "setup: the build failed")) << result.output;
  EXPECT_FALSE(contains(result.output, "setup: built")) << result.output;
  // The engine was found where it is; nothing was installed.
  EXPECT_FALSE(contains(result.output, "installing")) << result.output;
  EXPECT_FALSE(fs::exists(tree / ".venv"));
}

}  // namespace
}  // namespace hyperdefrag
