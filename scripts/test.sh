#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it).
# Installs nothing by hand: Go modules come from the module proxy, the
# CPython interpreters from pyenv (see internal/pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
go vet ./...
# Race detector on the packages with concurrency; the rest plainly.
go test -count=1 -timeout 9m ./... "$@"
