// Package interop holds tests that run real Python peers: every case runs
// against every installed CPython 3.8–3.13 (internal/pytest), with the
// Python side driven by the helpers in scripts/.
package interop
