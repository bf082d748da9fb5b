#!/usr/bin/env bash
# Build Portcullis as a Docker managed plugin (v2) and create it in the
# daemon that DOCKER_HOST (or the CLI's default) points at. No registry is
# involved: the plugin is made from a local directory with
# `docker plugin create`. Used by `make plugin`.
#
#   bash build/plugin/build.sh                    # creates plugin "portcullis:latest"
#   PLUGIN_NAME=portcullis:1.2 bash build/plugin/build.sh
#   NO_CREATE=1 bash build/plugin/build.sh        # only assemble dist/plugin/
#
# Environment:
#   PLUGIN_NAME        plugin reference to create (default portcullis:latest)
#   PLUGIN_DIR         where to assemble config.json and rootfs/ (default dist/plugin)
#   PLUGIN_CONFIG      manifest to use (default config.json at the top of the repository)
#   PORTCULLIS_BINARY  use this prebuilt binary instead of building one; it must be static
#   VERSION, COMMIT    stamped into the binary (default: git describe / rev-parse)
#   GO, DOCKER         the go and docker commands (default: from PATH)
#   NO_CREATE          set to 1 to stop after assembling the directory
#   DOCKER_HOST        the daemon to create the plugin in (the docker CLI reads it)
#
# The plugin is created disabled. Point its mounts at the host directories
# and enable it (see docs/operations.md):
#   docker plugin set portcullis:latest policies.source=/etc/portcullis/policies audit.source=/var/log/portcullis
#   docker plugin enable portcullis:latest
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=${PLUGIN_NAME:-portcullis:latest}
dir=${PLUGIN_DIR:-$root/dist/plugin}
config=${PLUGIN_CONFIG:-$root/config.json}
go=${GO:-go}
docker=${DOCKER:-docker}
version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}

say() { printf 'plugin: %s\n' "$*" >&2; }
die() { printf 'plugin: error: %s\n' "$*" >&2; exit 1; }

[[ -f $config ]] || die "no manifest at $config"

# A fresh directory every time: a stale binary or file must not slip in.
case $dir in
  / | "$root" | "") die "refusing to use $dir as the plugin directory" ;;
esac
rm -rf "$dir"
mkdir -p "$dir/rootfs"
rootfs=$dir/rootfs

if [[ -n ${PORTCULLIS_BINARY:-} ]]; then
  say "using prebuilt binary $PORTCULLIS_BINARY"
  install -m 0755 "$PORTCULLIS_BINARY" "$rootfs/portcullis"
else
  say "building static binary $version ($commit)"
  (cd "$root" && CGO_ENABLED=0 "$go" build -trimpath \
    -ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
    -o "$rootfs/portcullis" ./cmd/portcullis)
fi

# The rootfs holds the binary and nothing else: no shell, no libc, no
# /etc/passwd. A dynamically linked binary would not start in it.
if command -v readelf >/dev/null 2>&1 && readelf -l "$rootfs/portcullis" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  die "$rootfs/portcullis is dynamically linked; build it with CGO_ENABLED=0"
fi

# Mount points. The daemon bind-mounts the plugin's runtime directory at
# /run/docker/plugins (where the socket goes), the policy and audit
# directories from config.json, and, with host networking, /etc/hosts and
# /etc/resolv.conf. runc would create them, but a plugin rootfs that
# already has them does not depend on that.
install -d -m 0755 "$rootfs/etc/portcullis/policies" "$rootfs/run/docker/plugins" \
  "$rootfs/dev" "$rootfs/proc" "$rootfs/sys"
install -d -m 0750 "$rootfs/var/log/portcullis"
: >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"
install -m 0644 "$config" "$dir/config.json"
say "assembled $dir ($(du -sh "$rootfs" | cut -f1) rootfs)"

if [[ ${NO_CREATE:-0} == 1 ]]; then
  exit 0
fi

command -v "$docker" >/dev/null 2>&1 || die "$docker not found; set NO_CREATE=1 to only assemble $dir"
if "$docker" plugin inspect --format '{{.Name}}' "$name" >/dev/null 2>&1; then
  die "plugin $name exists already: disable and remove it first, or set PLUGIN_NAME (see docs/operations.md, Upgrading)"
fi
say "creating plugin $name on ${DOCKER_HOST:-the default daemon}"
"$docker" plugin create "$name" "$dir"
say "created $name (disabled). Next: docker plugin set $name policies.source=DIR audit.source=DIR; docker plugin enable $name"
