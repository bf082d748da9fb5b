#!/usr/bin/env bash
# Install Portcullis as a legacy plugin run by systemd (make install):
# the binary, the systemd units, the default policy (never overwriting a
# file that exists; the example teams under examples/policies/teams are
# examples and are not installed) and the audit directory. It does not enable anything
# nor touch dockerd's configuration; it prints the next steps. See
# docs/operations.md.
#
#   make build && sudo bash build/install.sh
#   DESTDIR=/tmp/stage bash build/install.sh     # stage into a tree (packaging)
#
# Environment:
#   BINARY    the binary to install (default bin/portcullis, from make build)
#   DESTDIR   staging root (default: none, install on this host)
#   PREFIX    where the binary goes below DESTDIR (default /usr/local)
#   UNITDIR   systemd unit directory (default /etc/systemd/system)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
binary=${BINARY:-$root/bin/portcullis}
destdir=${DESTDIR:-}
prefix=${PREFIX:-/usr/local}
unitdir=${UNITDIR:-/etc/systemd/system}
policydir=/etc/portcullis/policies
profiledir=$prefix/share/portcullis
auditdir=/var/log/portcullis

say() { printf 'install: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

[[ -x $binary ]] || die "no binary at $binary: run 'make build' first, or set BINARY"
if [[ -z $destdir && $(id -u) -ne 0 ]]; then
  die "installing on this host needs root (or set DESTDIR to stage)"
fi

# Check the shipped default policy before anything is copied.
"$binary" validate "$root/examples/policies/default.hcl" >/dev/null || die "examples/policies/default.hcl does not validate"

install -d -m 0755 "$destdir$prefix/bin" "$destdir$unitdir" "$destdir/etc/portcullis" "$destdir$profiledir/profiles"
install -m 0755 "$binary" "$destdir$prefix/bin/portcullis"
say "binary: $prefix/bin/portcullis"

# Units name the binary's path; keep it right for another PREFIX.
for unit in portcullis.service portcullis.socket portcullis-gateway.service portcullis-gateway.socket; do
  sed "s#/usr/local/bin/portcullis#$prefix/bin/portcullis#g" "$root/examples/systemd/$unit" >"$destdir$unitdir/$unit.tmp"
  chmod 0644 "$destdir$unitdir/$unit.tmp"
  mv "$destdir$unitdir/$unit.tmp" "$destdir$unitdir/$unit"
done
say "units: $unitdir/portcullis.service, $unitdir/portcullis.socket, $unitdir/portcullis-gateway.service, $unitdir/portcullis-gateway.socket"

# The gateway's CA lives here; its key must be root's alone.
install -d -m 0700 "$destdir/etc/portcullis/gateway"
say "gateway CA directory: /etc/portcullis/gateway (see docs/operations.md, \"Local users: the gateway\")"

# Policies: the default policy only. The example teams (one hands out
# host networking and SYS_PTRACE to an OU named "ops") are examples to
# read, never installed. A file that exists is the operator's and is left
# alone.
install -d -m 0755 "$destdir$policydir"
if [[ -e $destdir$policydir/default.hcl ]]; then
  say "policies: $policydir/default.hcl exists, kept"
else
  install -m 0644 "$root/examples/policies/default.hcl" "$destdir$policydir/default.hcl"
  say "policies: $policydir/default.hcl (the default policy only; example teams are in examples/policies/teams)"
fi

# Profiles are references to copy from, not loaded: the policy directory
# is read recursively, so they live elsewhere.
install -m 0644 "$root"/examples/profiles/*.hcl "$root"/examples/profiles/*.json "$destdir$profiledir/profiles/"
say "profiles: $profiledir/profiles"

# The audit trail names users and certificates: root and group adm only.
install -d -m 0750 "$destdir$auditdir"
if getent group adm >/dev/null 2>&1; then
  chgrp adm "$destdir$auditdir" 2>/dev/null || true
fi
say "audit directory: $auditdir"

# The ownership store: who created each container, volume and network.
install -d -m 0700 "$destdir/var/lib/portcullis"
say "state directory: /var/lib/portcullis"

if [[ -z $destdir ]]; then
  "$prefix/bin/portcullis" validate "$policydir" || die "the installed policies in $policydir do not validate; fix them before starting the service"
  if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
  fi
fi

cat >&2 <<NEXT
install: done. Next, as root:
  systemctl enable --now portcullis.socket portcullis.service
  portcullis status                       # healthy, policy revision
  # then add "authorization-plugins": ["portcullis"] to /etc/docker/daemon.json
  # (see examples/daemon.json) and: systemctl restart docker
Optionally, to identify local users (docs/operations.md, "Local users: the gateway"):
  SERVER_NAMES=127.0.0.1,localhost examples/certs/make-certs.sh /etc/portcullis/gateway
  # move dockerd to unix:///run/docker/docker.sock + tcp://127.0.0.1:2376 --tlsverify
  systemctl mask docker.socket && systemctl enable --now portcullis-gateway.socket portcullis-gateway.service
  portcullis status --gateway /run/docker.sock
NEXT
