// docs/USAGE.md says what the binary says: its --help blocks are the real
// --help output (scripts/update-usage.sh rewrites them), and its exit-code
// table lists every code of util/error.h.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>

#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag {
namespace {

std::string usage_doc() {
  return testing::read_bytes(std::filesystem::path(HYPERDEFRAG_SOURCE_DIR) / "docs" / "USAGE.md");
}

TEST(UsageDoc, MatchesHelp) {
  const auto doc = usage_doc();
  const std::regex block(
      "<!-- help: hyperdefrag([^>]*) -->\n```text\n([\\s\\S]*?)```\n<!-- end help -->");
  int blocks = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), block); it != std::sregex_iterator();
       ++it) {
    std::vector<std::string> args;
    std::istringstream words((*it)[1].str());
    for (std::string word; words >> word;) args.push_back(word);
    const auto result = testing::run_hyperdefrag(args);
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ((*it)[2].str(), result.out) << "docs/USAGE.md differs from `hyperdefrag"
                                          << (*it)[1].str() << "`; run scripts/update-usage.sh";
    ++blocks;
  }
  EXPECT_EQ(blocks, 5);
}

TEST(UsageDoc, ListsEveryExitCode) {
  const auto doc = usage_doc();
  for (const auto code :
       {ExitCode::ok, ExitCode::internal, ExitCode::usage, ExitCode::bad_input,
        ExitCode::bad_output, ExitCode::engine, ExitCode::copy_failed, ExitCode::verify_failed,
        ExitCode::no_space, ExitCode::busy, ExitCode::some_failed, ExitCode::incompatible_version,
        ExitCode::unreadable_values, ExitCode::interrupted_hup, ExitCode::interrupted_int,
        ExitCode::interrupted_term}) {
    const int number = static_cast<int>(code);
    const std::regex row(fmt::format("\n\\| ([0-9]+, )*{}(, [0-9]+)* \\|", number));
    EXPECT_TRUE(std::regex_search(doc, row))
        << "exit code " << number << " is not in docs/USAGE.md's table";
  }
}

}  // namespace
}  // namespace hyperdefrag
