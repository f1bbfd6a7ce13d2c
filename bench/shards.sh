#!/usr/bin/env bash
# The sharded run measured: FILES small generated .hyper files (default 200;
# twenty fragmented sources of mixed sizes copied under FILES names), compacted
#   1. by one process, one file at a time (hyperdefrag -r),
#   2. by one process, SHARDS files at once (-j SHARDS), and
#   3. by SHARDS processes at once (default 4), each `--shard auto` with the
#      variables of a Slurm array task, into one results directory,
# side by side in one run. Prints each shard's files, bytes and time, the
# balance figure and the merged results. Nothing is kept in the repository:
# the files go to WORKDIR (default: a new directory under $TMPDIR, removed).
#   bench/shards.sh [FILES] [SHARDS] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-200}
shards=${2:-4}
build=${BUILD:-build}
tool=$PWD/$build/hyperdefrag
maker=$PWD/$build/hyperdefrag-make-fragmented
if [ -n "${3:-}" ]; then
  work=$3
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/hyperdefrag-shards.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
unset JOB_COMPLETION_INDEX SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN \
  SLURM_ARRAY_TASK_MAX

mkdir -p "$work/sources" "$work/single" "$work/threads" "$work/sharded"
for i in $(seq 0 19); do
  "$maker" --rows $((700 * (1 + i * i / 3))) --tables $((1 + i % 4)) "$work/sources/s$i.hyper" \
    >/dev/null
done
for n in $(seq 1 "$files"); do
  name=$(printf 'f%04d.hyper' "$n")
  for tree in single threads sharded; do
    cp "$work/sources/s$((n * 7 % 20)).hyper" "$work/$tree/$name"
  done
done
echo "files: $files, $(du -sb "$work/single" | cut -f1) bytes; shards: $shards; cores: $(nproc)"

ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
code=0
"$tool" -r --quiet --results-dir "$work/single-results" "$work/single" || code=$?
echo "one process, -j 1: exit code $code"
single=$(($(ms) - start))

start=$(ms)
code=0
"$tool" -r --quiet -j "$shards" --results-dir "$work/threads-results" "$work/threads" || code=$?
echo "one process, -j $shards: exit code $code"
threads=$(($(ms) - start))

start=$(ms)
pids=()
for k in $(seq 0 $((shards - 1))); do
  SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=$shards \
    "$tool" -r --shard auto --json --results-dir "$work/results" "$work/sharded" \
    >"$work/shard$k.json" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  code=0
  wait "$pid" || code=$?
  echo "shard process $pid: exit code $code"
done
sharded=$(($(ms) - start))

python3 - "$work" "$shards" "$single" "$threads" "$sharded" <<'PY'
import json, sys
work, shards = sys.argv[1], int(sys.argv[2])
single, threads, sharded = (float(ms) / 1000 for ms in sys.argv[3:6])
print(f"{'shard':>7} {'files':>6} {'bytes':>12} {'seconds':>8}")
for k in range(shards):
    report = json.load(open(f"{work}/shard{k}.json"))
    s = report["shard"]
    print(f"{s['k']:>5}/{s['n']} {len(report['files']):>6} {s['bytes'][k]:>12} {report['seconds']:>8.2f}")
print(f"balance: the fullest shard holds {s['worst_ratio']:.4f} times the ideal share")
print(f"one process, -j 1: {single:.2f} s; one process, -j {shards}: {threads:.2f} s; "
      f"{shards} shard processes at once: {sharded:.2f} s")
print(f"ratios: -j 1 / shards {single / sharded:.2f}; -j {shards} / shards {threads / sharded:.2f}")
PY
for results in single-results threads-results results; do
  "$tool" results "$work/$results" | head -2 || true
done
