#!/usr/bin/env bash
# Regenerate testdata/spawn/py3.X/* with every installed CPython 3.8-3.13.
# Usage: scripts/spawn_capture.sh [VERSION...]   (default: all pyenv 3.8-3.13)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pyenv root)
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  mapfile -t versions < <(pyenv versions --bare | grep -E '^3\.(8|9|10|11|12|13)\.[0-9]+$')
fi
for v in "${versions[@]}"; do
  "$root/versions/$v/bin/python3" scripts/spawn_capture.py testdata/spawn
done
