#!/usr/bin/env bash
# The mutation check: does the test suite catch the bugs a user would notice?
# NOT run by CI: it builds the project in a scratch tree (20-40 minutes on a
# busy 2-core machine), then rebuilds and tests it for every mutation (about
# 35 seconds each there); docs/TESTING.md has the latest score and its time.
#
# For each mutation of scripts/mutations.txt (a small edit of one spot), in a
# scratch copy of this tree (the working tree itself is never changed):
#   1. apply it: its text must occur exactly once, or the list is out of date,
#      which is an error of this script naming the entry to update;
#   2. build incrementally: a mutation that does not compile is reported as
#      such, and not counted as caught;
#   3. run its hinted tests (its `tests:` filter) with the test binary,
#      stopping at the first failure; if they all pass, run the whole suite
#      (ctest) before calling it a survivor;
#   4. revert it.
# It prints, for each mutation, "caught by <the first test that failed>",
# "SURVIVED" or "did not compile", then the score (caught / total) and the
# survivors with what a user would notice.
#
# Usage: scripts/mutation-check.sh [--only ID[,ID...]] [--keep] [--scratch DIR] [--list] [-j N]
#   --only IDS     run only these mutations (the option can be repeated)
#   --keep         keep the scratch tree (its path is printed)
#   --scratch DIR  use DIR as the scratch tree and keep it: a second run with
#                  the same DIR copies only the files that changed and
#                  rebuilds only what they touch
#   --list         list the mutations and check that each applies; build nothing
#   -j N           build and run the suite with N jobs (default: the cores)
#
# The engine is the one scripts/setup.sh installed: $HYPERDEFRAG_PROJECT_VENV,
# else the one ./build was configured with, else ./.venv. Everything runs at
# a lower priority (nice -n 10), so that the machine stays usable meanwhile.
# Exit status: 0 every mutation caught; 1 some survived or did not compile;
# 2 the check could not run (bad option, stale entry, failing baseline).
set -euo pipefail

if [[ -z ${HYPERDEFRAG_MUTATION_NICED:-} ]]; then
  HYPERDEFRAG_MUTATION_NICED=1 exec nice -n 10 "$0" "$@"
fi

# The whole script is in functions, called at the end, so that editing this
# file while it runs cannot change what it does.

die() {
  echo "mutation-check: $*" >&2
  exit 2
}

# Fills ids, files, finds, replaces, notices, tests and lines (the line of
# each entry's [id]) from $list_file.
parse_list() {
  local line number=0 key value current=-1 i j
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ $line =~ ^\[([a-z0-9-]+)\]$ ]]; then
      current=${#ids[@]}
      ids+=("${BASH_REMATCH[1]}") files+=("") finds+=("") replaces+=("") notices+=("")
      tests+=("") lines+=("$number")
      continue
    fi
    [[ $line =~ ^([a-z]+):[[:space:]]*(.*)$ ]] ||
      die "$list_name line $number: expected [id] or 'key: value', got: $line"
    ((current >= 0)) || die "$list_name line $number: '$line' comes before the first [id]"
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    case $key in
      file) files[current]=$value ;;
      find) finds[current]=$value ;;
      replace) replaces[current]=$value ;;
      notice) notices[current]=$value ;;
      tests) tests[current]=$value ;;
      *) die "$list_name line $number: unknown key '$key'" ;;
    esac
  done <"$list_file"
  for i in "${!ids[@]}"; do
    for key in file find replace notice; do
      case $key in
        file) value=${files[i]} ;;
        find) value=${finds[i]} ;;
        replace) value=${replaces[i]} ;;
        notice) value=${notices[i]} ;;
      esac
      [[ -n $value ]] || die "$list_name line ${lines[i]}: entry [${ids[i]}] has no '$key:'"
    done
    for ((j = 0; j < i; j++)); do
      [[ ${ids[j]} != "${ids[i]}" ]] || die "$list_name: the id [${ids[i]}] is used twice"
    done
  done
}

# Applies mutation $1 to the tree at $2, or with $3 = check only checks that
# it would apply. Fails, saying why, unless its text occurs exactly once.
apply() {
  local i=$1 tree=$2 mode=${3:-apply}
  python3 - "$tree/${files[i]}" "${finds[i]}" "${replaces[i]}" "$mode" <<'PY'
import sys
path, find, replace, mode = sys.argv[1:5]
try:
    with open(path, encoding="utf-8") as f:
        text = f.read()
except OSError as error:
    print(f"cannot read it: {error.strerror}")
    sys.exit(3)
count = text.count(find)
if count != 1:
    print(f"its find text occurs {count} times in it, not once")
    sys.exit(3)
if mode == "apply":
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(find, replace))
PY
}

# The project's files, relative to $root: what git tracks or would track
# (the working tree as it is, uncommitted changes included), or, outside
# git, every file but the build and the engine.
project_files() {
  if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$root" ls-files --cached --others --exclude-standard
  else
    (cd "$root" && find . -path ./build -prune -o -path ./.venv -prune -o -path ./.git -prune \
      -o -type f -print | sed 's|^\./||')
  fi
}

# Makes $scratch a copy of the project. Only files whose bytes differ are
# copied, with a new modification time, so that a kept scratch tree rebuilds
# only what changed; files the project no longer has are removed.
copy_tree() {
  local file
  declare -A wanted=()
  while IFS= read -r file; do
    [[ -f $root/$file ]] || continue # deleted in the working tree
    wanted[$file]=1
    if ! cmp -s "$root/$file" "$scratch/$file"; then
      mkdir -p "$(dirname "$scratch/$file")"
      cp "$root/$file" "$scratch/$file"
      chmod --reference="$root/$file" "$scratch/$file"
    fi
  done < <(project_files)
  while IFS= read -r file; do
    file=${file#./}
    [[ -n ${wanted[$file]:-} || $file == mutation-*.log ]] || rm -f "$scratch/$file"
  done < <(cd "$scratch" && find . -path ./build -prune -o -type f -print)
}

# The first test that failed, from gtest or ctest output in file $1.
first_failure() {
  local out=$1 name
  name=$(grep -m1 -oE '^\[  FAILED  \] [A-Za-z0-9_/.]+' "$out" | sed 's/^\[  FAILED  \] //' || true)
  if [[ -z $name ]]; then
    name=$(grep -m1 -E '^[[:space:]]*[0-9]+ - [^ ]+ \(' "$out" |
      sed -E 's/^[[:space:]]*[0-9]+ - ([^ ]+) \((.*)\).*/\1 (\2)/' || true)
  fi
  if [[ -z $name ]]; then
    name="$(grep -oE '^\[ RUN      \] [^ ]+' "$out" | tail -n1 | sed 's/^\[ RUN      \] //')"
    name="${name:-the test binary} (crashed or timed out)"
  fi
  echo "$name"
}

main() {
  root=$(cd "$(dirname "$0")/.." && pwd)
  list_file=$root/scripts/mutations.txt
  list_name=scripts/mutations.txt # in messages
  local only=() keep=false list_only=false jobs given i want found
  scratch=
  jobs=$(nproc)
  while (($#)); do
    case $1 in
      --only) IFS=, read -ra given <<<"${2:?--only needs ids}"; only+=("${given[@]}"); shift 2 ;;
      --keep) keep=true; shift ;;
      --scratch) scratch=${2:?--scratch needs a directory}; keep=true; shift 2 ;;
      --list) list_only=true; shift ;;
      -j) jobs=${2:?-j needs a number}; shift 2 ;;
      -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done

  ids=() files=() finds=() replaces=() notices=() tests=() lines=()
  parse_list
  local selected=()
  if ((${#only[@]})); then
    for want in "${only[@]}"; do
      found=false
      for i in "${!ids[@]}"; do
        if [[ ${ids[i]} == "$want" ]]; then selected+=("$i"); found=true; fi
      done
      $found || die "no mutation [$want] in $list_name"
    done
  else
    selected=("${!ids[@]}")
  fi

  # Every selected entry must apply to this tree before anything is built.
  local stale=0 why
  for i in "${selected[@]}"; do
    if ! why=$(apply "$i" "$root" check); then
      echo "mutation-check: [${ids[i]}] ($list_name line ${lines[i]}): ${files[i]}: $why;" \
        "update this entry's find/replace to the code's current text (or remove the entry)" >&2
      stale=$((stale + 1))
    fi
  done
  ((stale == 0)) || die "$stale entries of $list_name no longer apply; nothing was run"

  if $list_only; then
    for i in "${selected[@]}"; do
      printf '%-28s %s\n    %s\n' "${ids[i]}" "${files[i]}" "${notices[i]}"
    done
    echo "${#selected[@]} mutations, each applies exactly once"
    exit 0
  fi

  # ---- The scratch tree, built unmutated ----
  local venv=${HYPERDEFRAG_PROJECT_VENV:-}
  if [[ -z $venv && -f $root/build/CMakeCache.txt ]]; then
    venv=$(sed -n 's/^HYPERDEFRAG_PROJECT_VENV:PATH=//p' "$root/build/CMakeCache.txt")
  fi
  venv=${venv:-$root/.venv}
  [[ -x $venv/bin/python ]] && "$venv/bin/python" -m pip show tableauhyperapi >/dev/null 2>&1 ||
    die "no Hyper engine in $venv: run scripts/setup.sh first (or set HYPERDEFRAG_PROJECT_VENV)"
  [[ -n $scratch ]] || scratch=$(mktemp -d "${TMPDIR:-/tmp}/hyperdefrag-mutation.XXXXXX")
  mkdir -p "$scratch"
  scratch=$(cd "$scratch" && pwd)
  [[ $scratch != "$root" && $scratch != "$root"/* ]] || die "the scratch tree must be outside $root"
  if $keep; then
    trap 'echo "mutation-check: the scratch tree is kept in $scratch"' EXIT
  else
    trap 'rm -rf "$scratch"' EXIT
  fi
  echo "mutation-check: copying the tree to $scratch"
  copy_tree

  local build=$scratch/build log=$scratch/mutation-check.log
  : >"$log"
  echo "mutation-check: building the unmutated tree (log: $log)"
  # The scratch tree is elsewhere: its tests use this tree's ../shared/fixtures.
  cmake -S "$scratch" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHYPERDEFRAG_PROJECT_VENV="$venv" \
    -DHYPERDEFRAG_SHARED_FIXTURES="$(realpath -m "$root/../shared/fixtures")" >>"$log" 2>&1 ||
    die "configuring the scratch tree failed (see $log)"
  cmake --build "$build" -j"$jobs" --target hyperdefrag_tests >>"$log" 2>&1 ||
    die "the unmutated tree does not build (see $log)"

  # Each pattern of each hint must name tests that exist, and they must pass
  # unmutated.
  local hints= count pattern patterns
  for i in "${selected[@]}"; do
    [[ -z ${tests[i]} ]] && continue
    IFS=: read -ra patterns <<<"${tests[i]}"
    for pattern in "${patterns[@]}"; do
      count=$("$build/hyperdefrag_tests" --gtest_list_tests --gtest_filter="$pattern" |
        grep -c '^  ' || true)
      ((count > 0)) || die "[${ids[i]}] ($list_name line ${lines[i]}): its tests pattern" \
        "'$pattern' matches no test (a parameterised test's name starts with its" \
        "instantiation: '*Suite.Name*'); update the entry"
    done
    hints+=${hints:+:}${tests[i]}
  done
  if [[ -n $hints ]]; then
    echo "mutation-check: running the hinted tests on the unmutated tree"
    "$build/hyperdefrag_tests" --gtest_filter="$hints" --gtest_brief=1 >>"$log" 2>&1 ||
      die "the hinted tests fail on the unmutated tree (see $log); fix that first"
  fi

  # ---- The mutations, in file order (consecutive ones in a file rebuild less) ----
  local order
  mapfile -t order < <(for i in "${selected[@]}"; do printf '%s\t%s\n' "${files[i]}" "$i"; done |
    sort -s -t$'\t' -k1,1 | cut -f2)
  local caught=0 survived=() broken=() n=0 started=$SECONDS id file original out result
  for i in "${order[@]}"; do
    n=$((n + 1))
    id=${ids[i]} file=$scratch/${files[i]} out=$scratch/mutation-${ids[i]}.log
    original=$(mktemp)
    cp "$file" "$original"
    printf '[%d/%d] %-28s ' "$n" "${#order[@]}" "$id"
    echo "==== [$id] ${files[i]}: ${finds[i]} -> ${replaces[i]}" >"$out"
    why=$(apply "$i" "$scratch") || die "[$id]: $why (in the scratch tree)"
    if ! cmake --build "$build" -j"$jobs" --target hyperdefrag_tests >>"$out" 2>&1; then
      result="did not compile (see $out)"
      broken+=("$i")
    elif [[ -n ${tests[i]} ]] && ! timeout 1200 "$build/hyperdefrag_tests" \
      --gtest_filter="${tests[i]}" --gtest_fail_fast --gtest_brief=1 >>"$out" 2>&1; then
      result="caught by $(first_failure "$out")"
      caught=$((caught + 1))
    elif ! (cd "$build" && ctest -j"$jobs" --stop-on-failure --output-on-failure >>"$out" 2>&1); then
      result="caught by $(first_failure "$out") (in the whole suite)"
      caught=$((caught + 1))
    else
      result="SURVIVED"
      survived+=("$i")
    fi
    # Reverted with a new modification time, so that the next build compiles it again.
    cp "$original" "$file"
    rm -f "$original"
    echo "$result"
  done
  # Leave the scratch build unmutated, for a later --scratch run.
  cmake --build "$build" -j"$jobs" --target hyperdefrag_tests >>"$log" 2>&1 || true

  local minutes=$(((SECONDS - started + 59) / 60))
  echo
  echo "mutation-check: score ${caught}/${#order[@]} caught (${#survived[@]} survived," \
    "${#broken[@]} did not compile) in $minutes min; each mutation's log: $scratch/mutation-ID.log"
  if ((${#survived[@]})); then
    echo "survivors (no test noticed them; docs/TESTING.md explains the known ones):"
    for i in "${survived[@]}"; do
      printf '  [%s] %s: %s\n      %s  ->  %s\n' "${ids[i]}" "${files[i]}" "${notices[i]}" \
        "${finds[i]}" "${replaces[i]}"
    done
  fi
  if ((${#broken[@]})); then
    echo "did not compile (fix the entry's replacement):"
    for i in "${broken[@]}"; do printf '  [%s] %s\n' "${ids[i]}" "${files[i]}"; done
  fi
  ((${#survived[@]} == 0 && ${#broken[@]} == 0))
}

main "$@"
