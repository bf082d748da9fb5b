#!/usr/bin/env bash
# Performance check for Portcullis (what `make bench` runs):
#   1. the Go benchmarks of every package (short benchtime), summarised;
#   2. the load generator (plugin level): allow-all baseline, the floor
#      (test/floor: the least a plugin obeying the project's rules must do)
#      and `portcullis serve` with the shipped policies and the audit file
#      sink, replaying the recorded traffic (testdata/traffic), in rounds
#      whose order rotates; then
#      1,000 generated team files vs one; then the request phase alone
#      (AuthZReq only, the measure of issue 17);
#   3. end to end (test/e2ebench, as root): a private dockerd driven
#      through its API socket with a read mix and a create/inspect/remove
#      mix, with no plugin, with the allow-all plugin and with Portcullis,
#      interleaved.
# It takes about five minutes. Timing never fails it; it fails only when
# something does not build, a benchmark fails, or the load generator or
# the end-to-end benchmark saw failed calls. docs/performance.md explains
# the numbers and the targets.
#
# Knobs (environment): BENCHTIME (200ms), CLIENTS (8), DURATION (5s per
# round), ROUNDS (4), WARMUP (2s), SCALE (1000; 0 skips), SCALE_DURATION (3s),
# BENCH_PKGS (./...), LOADGEN_ARGS (extra loadgen flags);
# E2E (1; 0 skips the end-to-end part, which otherwise needs root),
# ENGINE_BIN (the directory holding dockerd and the containerd, shim and
# runc to run it with; default: Docker Engine 29 from build/engine/build.sh;
# /usr/sbin for Debian's 20.10), E2E_ROUNDS (3), E2E_DURATION (3s per round,
# daemon and mix), E2E_CLIENTS (4), E2E_ARGS (extra e2ebench flags).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-200ms}
CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-4}
WARMUP=${WARMUP:-2s}
SCALE=${SCALE:-1000}
SCALE_DURATION=${SCALE_DURATION:-3s}
BENCH_PKGS=${BENCH_PKGS:-./...}

echo "== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')"
echo "go:      $(go version)"
echo "cpus:    $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; a busy machine inflates wall-clock numbers, not cpu-ns/op)"
echo

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== build"
go build ./...
go build -o "$tmp/loadgen" ./test/loadgen
go build -o "$tmp/e2ebench" ./test/e2ebench
echo ok
echo

echo "== Go benchmarks (-benchtime $BENCHTIME)"
if ! go test -run XXX -bench . -benchmem -benchtime "$BENCHTIME" $BENCH_PKGS >"$tmp/bench.txt" 2>&1; then
  cat "$tmp/bench.txt"
  echo "bench.sh: benchmarks failed" >&2
  exit 1
fi
# One row per benchmark: wall ns/op, CPU ns/op (where reported), B/op, allocs/op.
awk '
  /^pkg: / { pkg = $2; sub(/^github.com\/portcullis\/portcullis\//, "", pkg) }
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    ns = cpu = bytes = allocs = "-"
    for (i = 2; i <= NF; i++) {
      if ($i == "ns/op") ns = $(i-1)
      else if ($i == "cpu-ns/op") cpu = $(i-1)
      else if ($i == "B/op") bytes = $(i-1)
      else if ($i == "allocs/op") allocs = $(i-1)
    }
    printf "%-16s %-44s %14s %14s %12s %10s\n", pkg, name, ns, cpu, bytes, allocs
  }
  BEGIN { printf "%-16s %-44s %14s %14s %12s %10s\n", "package", "benchmark", "ns/op", "cpu-ns/op", "B/op", "allocs/op" }
' "$tmp/bench.txt"
echo

echo "== load: allow-all vs floor vs portcullis, then $SCALE team files vs 1"
scale_args=()
if [ "$SCALE" -gt 0 ]; then
  scale_args=(-scale "$SCALE" -scale-duration "$SCALE_DURATION")
fi
# shellcheck disable=SC2086
"$tmp/loadgen" -clients "$CLIENTS" -duration "$DURATION" -rounds "$ROUNDS" -warmup "$WARMUP" \
  "${scale_args[@]}" ${LOADGEN_ARGS:-}

echo
echo "== load, request phase only (AuthZReq: issue 17's audited request phase)"
# shellcheck disable=SC2086
"$tmp/loadgen" -clients "$CLIENTS" -duration "$DURATION" -rounds "$ROUNDS" -warmup "$WARMUP" \
  -phases request ${LOADGEN_ARGS:-}

echo
echo "== end to end (test/e2ebench)"
if [ "${E2E:-1}" = 0 ]; then
  echo "skipped: E2E=0"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench.sh: the end-to-end benchmark starts dockerd and needs root (E2E=0 skips it)" >&2
  exit 1
fi
if [ -z "${ENGINE_BIN:-}" ]; then
  if [ -f build/engine/build.sh ]; then
    ENGINE_BIN=$(bash build/engine/build.sh | tail -1)
  else
    echo "bench.sh: set ENGINE_BIN to the directory holding dockerd (Docker Engine 29; /usr/sbin for 20.10)" >&2
    exit 1
  fi
fi
# shellcheck disable=SC2086
"$tmp/e2ebench" -engine-bin "$ENGINE_BIN" -rounds "${E2E_ROUNDS:-3}" -duration "${E2E_DURATION:-3s}" \
  -clients "${E2E_CLIENTS:-4}" ${E2E_ARGS:-}
