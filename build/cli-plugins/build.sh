#!/usr/bin/env bash
# Build the Docker CLI plugins the e2e suite drives through the gateway —
# Docker Compose (docker compose) and buildx (docker buildx) — from the Go
# module proxy with plain `go install`, the way build/engine/build.sh builds
# Engine 29. Used by `make e2e` and, when a test needs them and they are not
# built yet, by the e2e harness. Never installed into the system: a test
# links them into its own DOCKER_CONFIG/cli-plugins.
#
#   bash build/cli-plugins/build.sh          # build if needed; prints the bin directory last, on stdout
#   bash build/cli-plugins/build.sh --dir    # only print the bin directory this spec would use
#
# The binaries are cached in .build/cli-plugins/<spec key>/bin (ignored by
# git), named as the docker CLI wants its plugins: docker-compose and
# docker-buildx. The key is a hash of everything below that decides the
# binaries — module@version, build tags, cgo, -ldflags — and of `go
# version`: bumping any of them builds afresh into a new directory (older
# ones are removed). test/e2e/README.md has measured build times.
#
# Environment:
#   GO                 the go command (default: go on PATH, else /usr/local/go/bin/go)
#   CLI_PLUGINS_CACHE  cache root (default: .build/cli-plugins at the top of the repository)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${CLI_PLUGINS_CACHE:-$root/.build/cli-plugins}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

# What to build: plugin binary | module@version | main package in the module | build tags | CGO_ENABLED | -ldflags.
# Each is built as its own main module, in the module's directory in the
# Go module cache (`go mod download`), as its Makefile builds it: compose's
# go.mod has exclude directives, which `go install module/cmd@version`
# refuses. Compose v5.6.0 is the newest that builds with Go 1.26.8 (v5.7
# asks for 1.26.10). The -X values are what their own builds set; without
# them both report a development version.
spec='docker-compose|github.com/docker/compose/v5@v5.6.0|./cmd||0|-X github.com/docker/compose/v5/internal.Version=v5.6.0
docker-buildx|github.com/docker/buildx@v0.38.2|./cmd/buildx||0|-X github.com/docker/buildx/version.Version=v0.38.2 -X github.com/docker/buildx/version.Package=github.com/docker/buildx'

label=cli-plugins
# shellcheck source=build/cache.sh
source "$root/build/cache.sh"
cache_open plugins "Docker CLI plugins" "${1:-}"

log "building Docker Compose and buildx into $bin ($gover)"
n=0
total=$(wc -l <<<"$spec")
while IFS='|' read -r name mod pkg tags cgo ldflags; do
	n=$((n + 1))
	t0=$SECONDS
	# Outside the repository, so its go.mod plays no part.
	src=$(cd / && GOFLAGS=-mod=mod GOTOOLCHAIN=local "$GO" mod download -json "$mod" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
		log "go mod download $mod: no module directory"
		exit 1
	fi
	log "[$n/$total] go build${tags:+ -tags '$tags'}${ldflags:+ -ldflags '$ldflags'} $pkg in $mod (CGO_ENABLED=$cgo)"
	# -v names each package as it is compiled (cached ones are not): show
	# every 50th, so a cold build visibly moves and a warm one stays quiet.
	(cd "$src" && CGO_ENABLED=$cgo GOFLAGS=-mod=readonly GOWORK=off GOTOOLCHAIN=local \
		"$GO" build -v -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$tmp/bin/$name" "$pkg" 2>&1) |
		awk -v name="$name" '
			/^go: downloading / { next }
			/^[a-zA-Z0-9_.-]+(\/[^ ]+)*$/ { c++; if (c % 50 == 0) { printf "cli-plugins:   %s: %d packages compiled (%s)\n", name, c, $0; fflush() } ; next }
			{ print; fflush() }
			END { printf "cli-plugins:   %s: %d packages compiled\n", name, c }' >&2
	if [ ! -x "$tmp/bin/$name" ]; then
		log "go build $pkg in $mod did not produce $name"
		exit 1
	fi
	log "[$n/$total] $name done in $((SECONDS - t0))s"
done <<<"$spec"

cache_close plugins
for name in docker-compose docker-buildx; do
	"$bin/$name" docker-cli-plugin-metadata | tr -d '\n' >&2
	echo >&2
done
echo "$bin"
