#!/bin/bash
# Compacts every file of a shared directory on the machines listed in
# nodes.txt (one ssh login a line), with GNU parallel: 4 shards, one per job.
set -euo pipefail
hyperdefrag plan -r /shared/extracts --output /shared/manifest.jsonl
parallel --sshloginfile nodes.txt --jobs 1 --line-buffer --tag \
  hyperdefrag --manifest /shared/manifest.jsonl --shard {}/4 \
  --results-dir /shared/results --quiet ::: 1 2 3 4 || true
hyperdefrag results /shared/results
