#!/usr/bin/env bash
# Record the Docker API traffic the tests, benchmarks and load generator
# replay (testdata/traffic/). As root:
#
#   ENGINE_BIN=<dir with dockerd> bash test/recorder/record.sh testdata/traffic/docker-29.jsonl
#   ENGINE_BIN=/usr/sbin          bash test/recorder/record.sh testdata/traffic/docker-20.10.jsonl
#
# It starts a private dockerd from ENGINE_BIN (own data root, exec root,
# socket and pidfile under a fresh /tmp directory; no bridge, no iptables;
# nothing shared with a daemon already running) with the recorder plugin
# (test/recorder) as its only authorization plugin, imports a busybox
# image, runs a fixed series of real `docker` CLI commands against it, and
# writes every request the daemon asked the plugin about to OUT (replaced).
# No registry is contacted: the one pull goes to 127.0.0.1:1, where nothing
# listens, and fails after the daemon has asked the plugin.
#
# ENGINE_BIN defaults to the Docker Engine 29 that build/engine/build.sh
# builds, when that script is present. DOCKER_CLI (default: docker on
# PATH) is the CLI. Needs busybox-static (/bin/busybox).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

out=${1:?usage: record.sh OUT.jsonl}
case $out in /*) ;; *) out=$root/$out ;; esac
if [ "$(id -u)" != 0 ]; then
	echo "record.sh: must run as root (it starts a dockerd)" >&2
	exit 1
fi
if [ -z "${ENGINE_BIN:-}" ]; then
	if [ -f build/engine/build.sh ]; then
		ENGINE_BIN=$(bash build/engine/build.sh | tail -1)
	else
		echo "record.sh: set ENGINE_BIN to the directory holding dockerd" >&2
		exit 1
	fi
fi
[ -x "$ENGINE_BIN/dockerd" ] || { echo "record.sh: no dockerd in $ENGINE_BIN" >&2; exit 1; }
cli=${DOCKER_CLI:-$(command -v docker)}
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "record.sh: need busybox-static at $busybox" >&2; exit 1; }

dir=$(mktemp -d /tmp/prXXXX)
name=portcullis-recorder-$(basename "$dir")
spec=/etc/docker/plugins/$name.spec
rec_pid= dockerd_pid=
cleanup() {
	set +e
	if [ -n "$dockerd_pid" ]; then
		kill "$dockerd_pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$dockerd_pid" 2>/dev/null
	fi
	[ -n "$rec_pid" ] && kill "$rec_pid" 2>/dev/null && wait "$rec_pid" 2>/dev/null
	rm -f "$spec"
	# Whatever dockerd left (its containerd, shims) and its mounts.
	for pid in $(pgrep -f "$dir/" || true); do kill -9 "$pid" 2>/dev/null; done
	grep " $dir/" /proc/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$dir"
}
trap cleanup EXIT

echo "record: building the recorder"
go build -o "$dir/recorder" ./test/recorder
: >"$dir/traffic.jsonl"
echo setup >"$dir/step"
"$dir/recorder" -socket "$dir/rec.sock" -out "$dir/traffic.jsonl" -step-file "$dir/step" &
rec_pid=$!
mkdir -p /etc/docker/plugins
echo "unix://$dir/rec.sock" >"$spec"

echo "record: starting dockerd from $ENGINE_BIN"
echo '{}' >"$dir/daemon.json"
mkdir -p "$dir/cli"
PATH=$ENGINE_BIN:$PATH "$ENGINE_BIN/dockerd" --config-file "$dir/daemon.json" \
	--data-root "$dir/data" --exec-root "$dir/x" -H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" \
	--storage-driver "${STORAGE_DRIVER:-overlay2}" --bridge none --iptables=false --ip-masq=false \
	--userland-proxy=false --shutdown-timeout 3 --authorization-plugin "$name" >"$dir/dockerd.log" 2>&1 &
dockerd_pid=$!

d() {
	# The classic builder (DOCKER_BUILDKIT=0): its build request is one
	# API call, and the CLI may have no buildx.
	env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_CONTEXT -u DOCKER_API_VERSION \
		DOCKER_BUILDKIT=0 DOCKER_HOST="unix://$dir/docker.sock" DOCKER_CONFIG="$dir/cli" "$cli" "$@"
}
for i in $(seq 300); do
	[ -S "$dir/docker.sock" ] && curl -fsS --unix-socket "$dir/docker.sock" http://d/_ping >/dev/null 2>&1 && break
	kill -0 "$dockerd_pid" 2>/dev/null || { tail -30 "$dir/dockerd.log" >&2; exit 1; }
	[ "$i" = 300 ] && { echo "record.sh: dockerd did not come up" >&2; tail -30 "$dir/dockerd.log" >&2; exit 1; }
	sleep 0.1
done

# The test image: busybox-static and a few symlinks.
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc" "$dir/rootfs/tmp"
cp "$busybox" "$dir/rootfs/bin/busybox"
for l in sh true false sleep id ls cat echo env; do ln -s busybox "$dir/rootfs/bin/$l"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/rootfs/etc/passwd"
tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
img=portcullis-rec/busybox:1

# step LABEL [may-fail] -- CMD...: label the requests CMD sends. Commands
# that the daemon may refuse here (a privileged start on a host without
# every capability, say) are marked may-fail: what matters is what the
# daemon asked the plugin, which the recorder has written either way.
step() {
	local label=$1 mayfail=0
	shift
	if [ "$1" = may-fail ]; then mayfail=1; shift; fi
	[ "$1" = -- ] && shift
	echo "$label" >"$dir/step"
	local shown="$*"
	[ "$1" = d ] && shown="docker ${*:2}"
	printf 'record: %-22s %s\n' "$label" "$shown"
	if ! "$@" >"$dir/last.out" 2>&1; then
		if [ "$mayfail" = 0 ]; then
			cat "$dir/last.out" >&2
			echo "record.sh: step $label failed" >&2
			exit 1
		fi
		printf 'record:   (failed as it may here: %s)\n' "$(tail -1 "$dir/last.out")"
	fi
}

step version -- d version
cp "$dir/last.out" "$dir/version.out"
step ps -- d ps
step images -- d images
step info -- d info
step import -- d import "$dir/rootfs.tar" "$img"
step image-inspect -- d image inspect "$img"
step run -- d run --rm "$img" true
step run-hardened -- d run --rm --read-only --cap-drop ALL --security-opt no-new-privileges \
	--user 1000:1000 --pids-limit 64 --memory 64m --network none "$img" true
step run-privileged may-fail -- d run --rm --privileged "$img" true
step run-capabilities may-fail -- d run --rm --cap-add ALL --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
	--security-opt seccomp=unconfined --security-opt label=disable "$img" true
step run-host-namespaces may-fail -- d run --rm --pid host --ipc host --uts host --userns host --network host "$img" true
step run-host-binds -- d run --rm -v /var/run/docker.sock:/var/run/docker.sock -v /:/host:ro -v /etc:/host-etc "$img" true
step run-devices may-fail -- d run --rm --device /dev/null:/dev/xnull --sysctl net.ipv4.ip_forward=1 --log-driver none "$img" true
step create-ports -- d create --name ports1 -p 127.0.0.1:8080:80 --network none "$img" true
step rm-ports -- d rm ports1
step run-detached -- d run -d --name web1 "$img" sleep 300
step exec -- d exec web1 echo hi
step exec-privileged may-fail -- d exec --privileged -u root web1 id
step logs -- d logs web1
step inspect -- d inspect web1
step top -- d top web1
step update may-fail -- d update --cpu-shares 512 web1
echo hello >"$dir/hello.txt"
step cp-from -- d cp web1:/etc/passwd "$dir/passwd.out"
step cp-to -- d cp "$dir/hello.txt" web1:/tmp/
step stop -- d stop -t 1 web1
step rm -- d rm web1
step volume-create -- d volume create data1
step volume-create-host -- d volume create --driver local -o type=none -o o=bind -o device=/etc hostetc
step volume-ls -- d volume ls
step volume-rm -- d volume rm data1 hostetc
step network-create -- d network create net1
step network-inspect -- d network inspect net1
step network-ls -- d network ls
step network-rm -- d network rm net1
step pull may-fail -- d pull 127.0.0.1:1/alpine:3
step tag -- d tag "$img" portcullis-rec/busybox:v2
step rmi -- d rmi portcullis-rec/busybox:v2
mkdir -p "$dir/ctx"
printf 'FROM %s\nLABEL org.example.recorded=1\n' "$img" >"$dir/ctx/Dockerfile"
step build -- d build -q -t built:1 "$dir/ctx"
step system-df -- d system df
step events -- d events --since 2020-01-01T00:00:00 --until 2020-01-01T00:00:01
step ps-all -- d ps -a

echo done >"$dir/step"
kill "$rec_pid"
wait "$rec_pid" || true
rec_pid=
mkdir -p "$(dirname "$out")"
cp "$dir/traffic.jsonl" "$out"
echo "record: $(wc -l <"$out") requests written to $out"
echo "record: client and daemon (docker version):"
sed 's/^/record:   /' "$dir/version.out"
