# Portcullis — Docker Engine authorization plugin.
SHELL := /bin/bash
GO ?= go
BIN := bin/portcullis
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
POLICY_DIR ?= examples/policies
SOCKET ?= /run/docker/plugins/portcullis.sock
# make run keeps everything it writes inside the build directory.
RUN_DIR ?= $(CURDIR)/bin/run
AUDIT_FILE ?= $(RUN_DIR)/audit/audit.log
STATE_DIR ?= $(RUN_DIR)/state
DOCKER_HOST_SOCKET ?= unix:///var/run/docker.sock

.PHONY: all build run test race e2e engine cli-plugins lint fuzz bench plugin install clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/portcullis

# Serve on the plugin socket with the shipped policies; the audit file and
# state live in $(RUN_DIR), not in the system's directories.
run: build
	$(BIN) validate $(POLICY_DIR)
	@mkdir -p $(dir $(AUDIT_FILE)) $(STATE_DIR)
	@echo "make run: audit file $(AUDIT_FILE)"
	@echo "make run: state directory $(STATE_DIR)"
	@echo "make run: next, add to /etc/docker/daemon.json and restart dockerd:"
	@echo '  "authorization-plugins": ["portcullis"]'
	$(BIN) serve --socket $(SOCKET) --policy-dir $(POLICY_DIR) --audit-file $(AUDIT_FILE) \
	  --state-dir $(STATE_DIR) --docker-host $(DOCKER_HOST_SOCKET)

# Unit tests, the race detector, and static checks.
test: lint
	@echo "== unit tests with the race detector (a line per package as it finishes)"
	$(GO) test -race -count=1 ./...

# End-to-end tests against a private dockerd, once per daemon in
# E2E_DAEMONS: Docker Engine 29 (built by `make engine`) and 20.10 (Debian's
# docker.io). As root; installs docker.io, busybox-static, rsyslog and the
# engine's build dependencies when missing, and builds the docker CLI
# plugins the gateway's tests drive (Compose, buildx; `make cli-plugins`).
# E2E_RUN=regexp runs some tests.
E2E_DAEMONS ?= 29 20.10
e2e:
	bash test/e2e/deps.sh
	$(if $(filter 29,$(E2E_DAEMONS)),bash build/engine/build.sh >/dev/null)
	bash build/cli-plugins/build.sh >/dev/null
	GO=$(GO) bash test/e2e/run.sh $(E2E_DAEMONS)

# Docker Engine 29 (dockerd, containerd, shim, runc) from the Go module
# proxy, cached in .build/engine; seconds when cached.
engine:
	bash build/engine/build.sh >/dev/null

# Docker Compose and buildx from the Go module proxy, cached in
# .build/cli-plugins (never installed into the system: the e2e tests link
# them into their own DOCKER_CONFIG); seconds when cached.
cli-plugins:
	bash build/cli-plugins/build.sh >/dev/null

lint:
	@echo "== lint: gofmt, go mod tidy -diff, go vet, the shipped policies"
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...
	$(GO) run ./cmd/portcullis validate examples/policies
	$(GO) run ./cmd/portcullis validate examples/policies/default.hcl examples/profiles/cis-docker-5.hcl examples/profiles/restricted.hcl
	$(GO) run ./cmd/portcullis test examples/policies

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test $$pkg -run XXX -fuzz "^$$t$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; \
	done

# Go benchmarks, the load comparison against an allow-all plugin and the floor (test/floor), and (as
# root) the end-to-end comparison on a private dockerd: Engine 29 from
# `make engine` unless ENGINE_BIN names another (/usr/sbin: 20.10); E2E=0
# leaves it out. See docs/performance.md.
bench:
	bash test/bench.sh

# The managed (v2) plugin: static binary, rootfs, `docker plugin create`.
plugin:
	VERSION=$(VERSION) COMMIT=$(COMMIT) bash build/plugin/build.sh

# Legacy mode: binary, systemd units, the default policy (never the example
# teams), log directory.
install: build
	BINARY=$(BIN) bash build/install.sh

clean:
	rm -rf bin dist
