#!/usr/bin/env bash
# Regenerates testdata/pickle/golden/3.<minor>/ with every installed CPython
# 3.8-3.13 (pyenv), and the benchmark corpus testdata/pickle/corpus/ with
# CPython 3.12 (or the newest one found). Standard library only.
#   scripts/gen_pickle_golden.sh            # all versions found
#   MPBRIDGE_PYTHONS="3.8.18 3.12.1" scripts/gen_pickle_golden.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
versions="${MPBRIDGE_PYTHONS:-$(pyenv versions --bare 2>/dev/null || ls "$root/versions")}"
corpus_py=""
last_py=""
for v in $versions; do
  case "$v" in
    3.8.*|3.9.*|3.10.*|3.11.*|3.12.*|3.13.*) ;;
    *) continue ;;
  esac
  py="$root/versions/$v/bin/python3"
  [ -x "$py" ] || { echo "missing $py" >&2; exit 1; }
  PYTHONHASHSEED=0 "$py" scripts/gen_pickle_golden.py testdata/pickle/golden
  last_py="$py"
  case "$v" in 3.12.*) corpus_py="$py" ;; esac
done
PYTHONHASHSEED=0 "${corpus_py:-$last_py}" scripts/gen_pickle_corpus.py testdata/pickle/corpus
