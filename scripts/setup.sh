#!/usr/bin/env bash
# Installs everything hyperdefrag needs on a fresh Debian machine and builds it:
#   1. Debian packages (compiler, CMake, libpq, CLI11, fmt, nlohmann-json, libzip, GoogleTest,
#      ISA-L for the tests' CRC-32C, help2man for the man page);
#   2. the pinned Hyper engine (engine-requirements.txt) into ./.venv;
#   3. the build, in ./build.
# Safe to run again: each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake make pkg-config libpq-dev libcli11-dev libfmt-dev nlohmann-json3-dev
          libgtest-dev libzip-dev libisal-dev python3 python3-venv help2man)
missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pinned=$(grep -E '^tableauhyperapi==' engine-requirements.txt)
installed=$(.venv/bin/python -m pip show tableauhyperapi 2>/dev/null || true)
if ! grep -qx "Version: ${pinned#*==}" <<<"$installed"; then
  echo "setup: installing the Hyper engine ($pinned) into .venv"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r engine-requirements.txt
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning|Error" || true
test -x build/hyperdefrag || { echo "setup: the build failed" >&2; exit 1; }
echo "setup: built build/hyperdefrag with $(build/hyperdefrag --version | tail -n 1)"
