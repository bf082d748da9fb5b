#!/usr/bin/env bash
# Installs what the e2e suite needs on a fresh Debian/Ubuntu machine:
# - Docker Engine 20.10 (Debian's docker.io: dockerd, containerd, runc, a
#   docker CLI), one of the two daemons under test;
# - what build/engine/build.sh needs to build the other, Docker Engine 29,
#   from the Go module proxy: gcc, pkg-config and libseccomp-dev (runc's
#   seccomp support is cgo);
# - a static busybox for the test image, rsyslog, openssl and curl;
# - logrotate, prometheus and setpriv (util-linux) for the audit trail's
#   fault tests (trail_test.go).
# Idempotent: apt-get runs only when something is missing, and `apt-get
# update` only once, right before it.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "deps.sh: CI=true and not root: cannot install the e2e dependencies" >&2
		exit 1
	fi
	echo "deps.sh: not root; skipping installation (the e2e tests skip without root too)" >&2
	exit 0
fi

# binary -> package that provides it
declare -A want=(
	[dockerd]=docker.io
	[docker]=docker.io
	[containerd]=docker.io
	[runc]=docker.io
	[rsyslogd]=rsyslog
	[openssl]=openssl
	[curl]=curl
	[gcc]=gcc
	[pkg-config]=pkg-config
	[logrotate]=logrotate
	[prometheus]=prometheus
	[setpriv]=util-linux
)

missing=()
for bin in "${!want[@]}"; do
	if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1; then
		missing+=("${want[$bin]}")
	fi
done
# The test image needs the statically linked busybox at this exact path; a
# dynamically linked /bin/busybox would not run inside the image.
if [ ! -x /bin/busybox ] || ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
	missing+=(busybox-static)
fi

# Headers and pkg-config file for runc's seccomp support.
if ! dpkg-query -W -f='${Status}' libseccomp-dev 2>/dev/null | grep -q 'install ok installed'; then
	missing+=(libseccomp-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all e2e dependencies present"
	exit 0
fi

# Deduplicate the package list.
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "deps.sh: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${pkgs[@]}"
