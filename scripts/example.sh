#!/usr/bin/env bash
# The README's first command: sets everything up, makes a fragmented .hyper
# file (as incremental refreshes leave one) and defragments it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
rm -rf example && mkdir example
build/hyperdefrag-make-fragmented example/Fragmented.hyper --rows 3000000
build/hyperdefrag example/Fragmented.hyper
