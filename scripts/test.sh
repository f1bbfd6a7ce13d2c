#!/usr/bin/env bash
# The README's second command: sets everything up and runs every test against
# the real engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
