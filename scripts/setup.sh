#!/usr/bin/env bash
# Installs everything hyperdefrag needs on a fresh Debian machine and builds it:
#   1. Debian packages (compiler, CMake, libpq, CLI11, fmt, nlohmann-json, libzip, GoogleTest,
#      ISA-L for the tests' CRC-32C, help2man for the man page, PyYAML for the test that
#      reads examples/, strace for the test that records the fsync calls);
#   2. the pinned Hyper engine (engine-requirements.txt) into ./.venv, or into the virtual
#      environment named by $HYPERDEFRAG_PROJECT_VENV (one that holds it already is used as is);
#   3. the build, in ./build: quiet when it succeeds; when it fails, the compiler's messages go
#      to stderr and the script exits non-zero (a binary left by an earlier build never counts).
# Safe to run again: each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/debian-packages.sh
install_debian_packages setup g++ cmake make pkg-config libpq-dev libcli11-dev libfmt-dev \
  nlohmann-json3-dev libgtest-dev libzip-dev libisal-dev zlib1g-dev python3 python3-venv help2man \
  python3-yaml strace

venv=${HYPERDEFRAG_PROJECT_VENV:-$PWD/.venv}
pinned=$(grep -E '^tableauhyperapi==' engine-requirements.txt)
installed=$("$venv/bin/python" -m pip show tableauhyperapi 2>/dev/null || true)
if ! grep -qx "Version: ${pinned#*==}" <<<"$installed"; then
  echo "setup: installing the Hyper engine ($pinned) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r engine-requirements.txt
fi

# Each step's output goes to a log that is shown only if the step fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_step() {
  local what=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: $what failed (its output is above)" >&2
    exit 1
  fi
}
run_step "configuring the build" cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHYPERDEFRAG_PROJECT_VENV="$venv"
run_step "the build" cmake --build build -j"$(nproc)"
echo "setup: built build/hyperdefrag with $(build/hyperdefrag --version | tail -n 1)"
