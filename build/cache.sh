# Sourced by build/engine/build.sh and build/cli-plugins/build.sh: the
# cache both keep their binaries in. A build lives in $cache/PREFIX-KEY/bin,
# KEY a hash of the caller's spec and of `go version`; a build is whole when
# its directory holds `complete` and every binary the spec names; one build
# runs at a time; a finished build replaces older ones.
#
# The caller sets cache, GO, spec (a line per binary, its name first,
# fields separated by |) and label (the prefix of its log lines).

log() { printf '%s: %s\n' "$label" "$*" >&2; }

cache_complete() {
	[ -f "$dir/complete" ] || return 1
	local name
	while IFS='|' read -r name _; do
		[ -x "$bin/$name" ] || return 1
	done <<<"$spec"
}

# cache_open PREFIX WHAT [ARG]: sets gover, key, dir and bin. With ARG
# --dir it prints bin and exits; when the cache holds a whole build it
# says "WHAT cached in BIN", prints bin and exits. Otherwise it returns
# holding the build lock, with tmp an empty directory (tmp/bin inside it;
# removed on exit) to build into and start the time it began.
cache_open() {
	local prefix=$1 what=$2
	gover=$("$GO" version)
	key=$(printf '%s\n%s\n' "$spec" "$gover" | sha256sum | cut -c1-16)
	dir=$cache/$prefix-$key
	bin=$dir/bin
	if [ "${3:-}" = "--dir" ]; then
		echo "$bin"
		exit 0
	fi
	if cache_complete; then
		log "$what cached in $bin"
		echo "$bin"
		exit 0
	fi
	mkdir -p "$cache"
	# One build at a time (make and the harness may both ask).
	exec 9>"$cache/.lock"
	if ! flock -n 9; then
		log "another build is running; waiting for it"
		flock 9
	fi
	if cache_complete; then
		log "$what cached in $bin"
		echo "$bin"
		exit 0
	fi
	tmp=$(mktemp -d "$cache/.tmp-$key-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/bin"
	start=$SECONDS
}

# cache_close PREFIX: the build in tmp becomes the cached one, older ones
# are removed.
cache_close() {
	local prefix=$1 old
	printf '%s\n' "$spec" "$gover" >"$tmp/spec"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	trap - EXIT
	touch "$dir/complete"
	# Builds for an older spec are of no further use.
	for old in "$cache"/"$prefix"-*; do
		[ "$old" = "$dir" ] || rm -rf "$old"
	done
	log "built in $((SECONDS - start))s: $(cd "$bin" && echo *)"
}
