#!/usr/bin/env bash
# The project's test command (README "Two commands"; .ci/run calls it).
# Installs nothing by hand: Go modules come from the module proxy, the
# CPython 3.8-3.13 interpreters from pyenv (see internal/pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
go vet ./...
# Every test, the interop tests against every CPython found.
go test -count=1 -timeout 9m ./... "$@"
# The race detector over the unit tests of the packages with concurrency.
go test -race -count=1 -timeout 5m ./connection/... ./manager/... ./mpqueue/... ./spawn/...
