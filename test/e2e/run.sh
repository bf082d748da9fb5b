#!/usr/bin/env bash
# Runs the e2e suite once per daemon, for `make e2e`:
#
#   bash test/e2e/run.sh [DAEMON...]     # default: 29 20.10
#
# Each run is `go test -tags e2e -v` with PORTCULLIS_E2E_DAEMON=<daemon>;
# its whole output goes to .build/e2e/<daemon>.log and the terminal gets one
# line per test as it starts and ends, then, for a failed test, everything it
# logged. Exits non-zero if any run failed; every daemon is run regardless.
#
# Environment:
#   GO             the go command (default: go)
#   E2E_RUN        passed to go test -run (default: every test)
#   E2E_TIMEOUT    go test -timeout per daemon (default 40m)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
GO=${GO:-go}
logs=$root/.build/e2e
mkdir -p "$logs"
daemons=("$@")
[ ${#daemons[@]} -gt 0 ] || daemons=(29 20.10)

summary=()
failed=0
for daemon in "${daemons[@]}"; do
	log=$logs/$daemon.log
	echo "== e2e against Docker Engine $daemon (full output: ${log#"$root"/})"
	start=$SECONDS
	PORTCULLIS_E2E_DAEMON=$daemon "$GO" test -tags e2e -count=1 -v -timeout "${E2E_TIMEOUT:-40m}" \
		${E2E_RUN:+-run "$E2E_RUN"} ./test/e2e/ >"$log" 2>&1 &
	pid=$!
	# Progress: top-level tests starting and ending, TestMain's own lines.
	tail -n +1 --pid="$pid" -f "$log" | grep --line-buffered -E \
		'^(=== RUN   Test[^/]+$|--- (PASS|FAIL|SKIP): Test[^/]+ |e2e: |engine: |FAIL|ok |panic:)' |
		sed -u -e 's/^=== RUN   /   start /' -e 's/^--- /   /'
	wait "$pid"
	rc=$?
	took=$((SECONDS - start))
	if [ "$rc" -ne 0 ]; then
		failed=1
		echo "== e2e against Docker Engine $daemon FAILED (exit $rc) after ${took}s; output of the failed tests:"
		# Everything logged under a failed top-level test, in order.
		awk '
			/^=== (RUN|CONT|NAME|PAUSE) / { split($3, p, "/"); cur = p[1]; next }
			/^--- FAIL: / { split($3, p, "/"); bad[p[1]] = 1 }
			/^(PASS|FAIL|ok|exit status)/ { cur = "" }
			{ if (cur != "") { out[cur] = out[cur] $0 "\n" } else { top = top $0 "\n" } }
			END {
				for (n in bad) printf "---- %s\n%s", n, out[n]
				if (length(bad) == 0) printf "%s", top
			}' "$log"
		summary+=("Docker Engine $daemon: FAIL in ${took}s")
	else
		summary+=("Docker Engine $daemon: ok in ${took}s")
	fi
done
echo "== e2e summary"
printf '   %s\n' "${summary[@]}"
exit "$failed"
