#!/usr/bin/env bash
# Rewrites the --help blocks of docs/USAGE.md from the built binary, so the
# document says exactly what the tool says. The test UsageDoc.MatchesHelp
# fails when they differ; run this after changing an option or its text.
#   scripts/update-usage.sh [path/to/hyperdefrag]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-build/hyperdefrag}
python3 - "$binary" docs/USAGE.md <<'PY'
import re, subprocess, sys
binary, doc = sys.argv[1], sys.argv[2]
text = open(doc).read()
def block(match):
    args = match.group(1).split()[1:]
    help_text = subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout
    return f"<!-- help: {match.group(1)} -->\n```text\n{help_text}```\n<!-- end help -->"
text = re.sub(r"<!-- help: (.*?) -->\n```text\n.*?```\n<!-- end help -->", block, text, flags=re.S)
open(doc, "w").write(text)
PY
echo "update-usage: rewrote the help blocks of docs/USAGE.md from $binary"
