// Finding the hyperd binary, in this order: an explicit path (--hyperd), the
// environment variable HYPERD_PATH, the tableauhyperapi installed in the
// program's own environment (<prefix>/lib/python3.*/site-packages beside
// <prefix>/bin/hyperdefrag: pip, pipx), the project's own virtual environment
// (.venv, made by scripts/setup.sh; none in a wheel's build), then a
// tableauhyperapi installed for the system's python3.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hyperdefrag::engine {

struct HyperdLocation {
  std::filesystem::path path;
  // "--hyperd", "HYPERD_PATH", "own environment", "project .venv", "python3"
  std::string found_by;
};

// Throws hyperdefrag::Error (ExitCode::engine) naming what was tried and how
// to get an engine when none is found.
HyperdLocation locate_hyperd(const std::optional<std::filesystem::path>& explicit_path);

// The hyperd binary inside a tableauhyperapi package directory.
std::filesystem::path hyperd_in_package(const std::filesystem::path& package_dir);

// What `hyperd --version` prints on its first line, e.g.
// "Hyper version main.0.0.26963.r84171622".
std::string hyperd_version(const std::filesystem::path& hyperd);

}  // namespace hyperdefrag::engine
