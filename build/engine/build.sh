#!/usr/bin/env bash
# Build Docker Engine 29 (dockerd, containerd, containerd-shim-runc-v2,
# runc) from the Go module proxy with plain `go install`, for the e2e suite.
# Used by `make engine` (and so `make e2e`) and by the e2e harness.
#
#   bash build/engine/build.sh          # build if needed; prints the bin directory last, on stdout
#   bash build/engine/build.sh --dir    # only print the bin directory this spec would use
#
# The binaries are cached in .build/engine/<spec key>/bin (ignored by git).
# The key is a hash of everything below that decides the binaries — module
# versions, build tags, cgo, -ldflags — and of `go version`: bumping any of
# them builds afresh into a new directory (older ones are removed). A cached
# build costs well under a second; with a warm Go build cache only the links
# run (minutes); a cold build compiles every dependency, with progress on
# stderr (test/e2e/README.md has measured times).
#
# runc needs libseccomp's headers (Debian: libseccomp-dev; test/e2e/deps.sh
# installs it). Put the bin directory first on PATH and dockerd finds the
# containerd, the shim and runc built with it, and starts its own containerd
# under its exec root.
#
# Environment:
#   GO               the go command (default: go on PATH, else /usr/local/go/bin/go)
#   ENGINE_CACHE     cache root (default: .build/engine at the top of the repository)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${ENGINE_CACHE:-$root/.build/engine}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

# What to build: binary | package@version | build tags | CGO_ENABLED | -ldflags.
# Docker Engine 29.8.0 (API 1.56) is moby/v2 v2.0.0-beta.24 (its
# releases/versions.yaml). Without -X its version would read
# "library-import", in `dockerd --version` and in GET /version alike.
spec='dockerd|github.com/moby/moby/v2/cmd/dockerd@v2.0.0-beta.24|netgo osusergo static_build nri_no_wasm|1|-X github.com/moby/moby/v2/dockerversion.Version=29.8.0
containerd|github.com/containerd/containerd/v2/cmd/containerd@v2.4.2|urfave_cli_no_docs|1|
containerd-shim-runc-v2|github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@v2.4.2|urfave_cli_no_docs no_grpc|0|
runc|github.com/opencontainers/runc@v1.5.3|seccomp|1|'

label=engine
# shellcheck source=build/cache.sh
source "$root/build/cache.sh"
cache_open 29 "Docker Engine 29" "${1:-}"

# runc's seccomp support is cgo, found with pkg-config.
if ! pkg-config --exists libseccomp 2>/dev/null || ! command -v gcc >/dev/null; then
	log "runc needs gcc, pkg-config and libseccomp's headers: apt-get install gcc pkg-config libseccomp-dev (test/e2e/deps.sh does)"
	exit 1
fi

log "building Docker Engine 29 into $bin ($gover)"
n=0
total=$(wc -l <<<"$spec")
while IFS='|' read -r name pkg tags cgo ldflags; do
	n=$((n + 1))
	t0=$SECONDS
	log "[$n/$total] go install -tags '$tags'${ldflags:+ -ldflags '$ldflags'} $pkg (CGO_ENABLED=$cgo)"
	# -v names each package as it is compiled (cached ones are not): show
	# every 50th, so a cold build visibly moves and a warm one stays quiet.
	# Outside the repository, so its go.mod plays no part.
	(cd / && GOBIN="$tmp/bin" CGO_ENABLED=$cgo GOFLAGS=-mod=mod GOTOOLCHAIN=local \
		"$GO" install -v -tags "$tags" -ldflags "$ldflags" "$pkg" 2>&1) |
		awk -v name="$name" '
			/^go: downloading / { next }
			/^[a-zA-Z0-9_.-]+(\/[^ ]+)*$/ { c++; if (c % 50 == 0) { printf "engine:   %s: %d packages compiled (%s)\n", name, c, $0; fflush() } ; next }
			{ print; fflush() }
			END { printf "engine:   %s: %d packages compiled\n", name, c }' >&2
	if [ ! -x "$tmp/bin/$name" ]; then
		log "go install $pkg did not produce $name"
		exit 1
	fi
	log "[$n/$total] $name done in $((SECONDS - t0))s"
done <<<"$spec"

cache_close 29
"$bin/dockerd" --version >&2
echo "$bin"
