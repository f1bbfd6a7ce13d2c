// examples/ is checked against the real tool: every YAML file parses (with
// PyYAML, Debian's python3-yaml), and every hyperdefrag option the examples
// use is one the binary's --help lists.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using Json = nlohmann::json;

const fs::path kExamples = fs::path(HYPERDEFRAG_SOURCE_DIR) / "examples";

// Runs a shell command; its stdout and exit status.
std::pair<std::string, int> shell(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// The words after each "hyperdefrag" command word in a shell script, with
// continued lines joined.
std::vector<std::vector<std::string>> invocations_in_script(const fs::path& file) {
  const auto text = std::regex_replace(testing::read_bytes(file), std::regex("\\\\\n"), " ");
  std::vector<std::vector<std::string>> found;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> tokens;
    for (std::string word; words >> word;) tokens.push_back(word);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] != "hyperdefrag") continue;
      std::vector<std::string> args;
      for (std::size_t j = i + 1; j < tokens.size() && tokens[j] != "|" && tokens[j] != "&&" &&
                                  tokens[j] != ":::" && tokens[j] != "||";
           ++j) {
        args.push_back(tokens[j]);
      }
      found.push_back(std::move(args));
    }
  }
  return found;
}

// Every container's command and args in a parsed YAML document.
void containers(const Json& node, std::vector<std::vector<std::string>>& found) {
  if (node.is_object()) {
    if (node.contains("command") && node["command"].is_array() && !node["command"].empty() &&
        node["command"][0] == "hyperdefrag") {
      std::vector<std::string> args;
      for (std::size_t i = 1; i < node["command"].size(); ++i) args.push_back(node["command"][i]);
      for (const auto& arg : node.value("args", Json::array())) args.push_back(arg);
      found.push_back(std::move(args));
    }
    for (const auto& [key, value] : node.items()) containers(value, found);
  } else if (node.is_array()) {
    for (const auto& value : node) containers(value, found);
  }
}

// The options of one invocation that its --help does not list.
std::vector<std::string> unknown_options(const std::vector<std::string>& args) {
  std::vector<std::string> help_args;
  if (!args.empty() && (args[0] == "plan" || args[0] == "results" || args[0] == "check" ||
                        args[0] == "inspect")) {
    help_args.push_back(args[0]);
  }
  help_args.push_back("--help");
  const auto help = testing::run_hyperdefrag(help_args);
  EXPECT_EQ(help.exit_code, 0);
  // The options list only, not the examples below it.
  const auto start = help.out.find("\nOptions:\n");
  EXPECT_NE(start, std::string::npos) << help.out;
  const auto options = help.out.substr(start, help.out.find("\n\n", start + 1) - start);
  std::vector<std::string> unknown;
  for (const auto& arg : args) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    const auto option = arg.substr(0, arg.find('='));
    // Where CLI11 lists it: at the start of a line, after its short form.
    const std::regex listed("^ +(-[A-Za-z0-9],)?" + option + "([ ,=]|$)", std::regex::multiline);
    if (!std::regex_search(options, listed)) unknown.push_back(option);
  }
  return unknown;
}

TEST(Examples, YamlParsesAndTheJobRunsShards) {
  if (shell("python3 -c 'import yaml' 2>/dev/null").second != 0) {
    GTEST_SKIP() << "python3 with PyYAML (Debian's python3-yaml, scripts/setup.sh) is not here";
  }
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kExamples)) {
    const auto extension = entry.path().extension();
    if (extension != ".yaml" && extension != ".yml") continue;
    ++files;
    const auto [out, status] = shell(fmt::format(
        "python3 -c 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))' '{}'",
        entry.path().string()));
    ASSERT_EQ(status, 0) << entry.path() << " does not parse as YAML";
    const auto documents = Json::parse(out);
    std::vector<std::vector<std::string>> found;
    containers(documents, found);
    ASSERT_FALSE(found.empty()) << entry.path() << " runs no hyperdefrag container";
    for (const auto& args : found) {
      EXPECT_EQ(unknown_options(args), std::vector<std::string>{}) << entry.path();
      // An Indexed Job, its completions the number of shards.
      const auto& job = documents.at(0);
      EXPECT_EQ(job["kind"], "Job");
      EXPECT_EQ(job["spec"]["completionMode"], "Indexed");
      const auto shards = std::find(args.begin(), args.end(), "--shards");
      ASSERT_NE(shards, args.end());
      EXPECT_EQ(std::stoi(*(shards + 1)), job["spec"]["completions"].get<int>());
      EXPECT_NE(std::find(args.begin(), args.end(), "auto"), args.end());
    }
  }
  EXPECT_GE(files, 1);
}

TEST(Examples, ScriptsUseOnlyOptionsTheToolHas) {
  int invocations = 0;
  for (const char* script :
       {"slurm/hyperdefrag-array.sbatch", "parallel/hyperdefrag-parallel.sh"}) {
    const auto path = kExamples / script;
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_EQ(shell(fmt::format("bash -n '{}'", path.string())).second, 0)
        << path << " is not valid bash";
    const auto found = invocations_in_script(path);
    EXPECT_FALSE(found.empty()) << path;
    for (const auto& args : found) {
      EXPECT_EQ(unknown_options(args), std::vector<std::string>{})
          << path << ": hyperdefrag " << fmt::format("{}", fmt::join(args, " "));
      ++invocations;
    }
  }
  EXPECT_GE(invocations, 5);
}

TEST(Examples, TheCheckCatchesAnOptionThatDoesNotExist) {
  EXPECT_EQ(unknown_options({"--shard", "auto", "--shardz", "4", "-r"}),
            std::vector<std::string>{"--shardz"});
  EXPECT_EQ(unknown_options({"plan", "--output", "m", "--results-dir", "x"}),
            std::vector<std::string>{"--results-dir"});
  // Named in --shard's description, but --shards is listed in its own right:
  // an option only mentioned would not count.
  EXPECT_EQ(unknown_options({"results", "-j", "2", "--shards", "4"}),
            (std::vector<std::string>{"-j", "--shards"}));
}

}  // namespace
}  // namespace hyperdefrag
