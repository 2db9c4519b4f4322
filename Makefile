# ota-agent: see README.md. `make demo` runs the product on simulated hardware,
# `make test` runs the tests. Two binaries: ota-agent (the device binary) and
# ota-sim (simulated devices and the demo, never shipped to a device).

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
# staticcheck 2025.1.1 is module version v0.6.1 (go run needs the module version).
STATICCHECK_VERSION ?= v0.6.1

CMDS     := ota-agent ota-sim

.PHONY: all build cross test cover bench bench-table bench-peers stress lint demo clean deb

all: build

build:
	$(foreach c,$(CMDS),$(GOBUILD) -o $(BIN)/$(c) ./cmd/$(c) &&) true

cross:
	$(foreach c,$(CMDS),\
	GOOS=linux GOARCH=arm GOARM=7 $(GOBUILD) -o $(BIN)/$(c)-linux-armv7 ./cmd/$(c) && \
	GOOS=linux GOARCH=arm64 $(GOBUILD) -o $(BIN)/$(c)-linux-arm64 ./cmd/$(c) && \
	GOOS=linux GOARCH=amd64 $(GOBUILD) -o $(BIN)/$(c)-linux-amd64 ./cmd/$(c) &&) true
	@ls -l $(foreach c,$(CMDS),$(BIN)/$(c)-linux-*)

# deb builds $(BIN)/deb/ota-agent_<version>_<arch>.deb for amd64, arm64 and
# armhf (GOARM=7) with dpkg-deb alone, no network: the static binary, the
# unit (enabled on install, started once /etc/ota-agent/agent.toml exists),
# agent.toml.example, /var/lib/ota-agent (root, 0750) and the man page
# (cmd/ota-agent/deb). `lintian $(BIN)/deb/*.deb` reports no errors.
DEB_ARCHS := amd64:amd64: arm64:arm64: armhf:arm:7
deb:
	@mkdir -p $(BIN)/deb
	$(foreach a,$(DEB_ARCHS),\
	GOOS=linux GOARCH=$(word 2,$(subst :, ,$(a))) GOARM=$(word 3,$(subst :, ,$(a))) \
		$(GOBUILD) -o $(BIN)/deb/ota-agent-$(word 1,$(subst :, ,$(a))) ./cmd/ota-agent && \
	cmd/ota-agent/deb/build.sh $(word 1,$(subst :, ,$(a))) $(VERSION) $(BIN)/deb/ota-agent-$(word 1,$(subst :, ,$(a))) $(BIN)/deb &&) true

# test vets, builds, checks that go.mod and go.sum are tidy, runs every test
# and ends with the skipped tests and their count (cmd/internal/testsum; with
# CI set a missing peer or privilege fails instead, see internal/peertest).
# The QEMU board's short set runs on the board `make board` cached in $(BOARD)
# (cmd/ota-board TestBoardShort, README "The board in QEMU").
test:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	$(GO) mod tidy -diff
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/testsum ./cmd/internal/testsum
	{ BOARD_DIR=$(abspath $(BOARD)) $(GO) test -count=1 -timeout 30m -json ./...; echo $$? > $(BIN)/test.rc; } | $(BIN)/testsum && exit $$(cat $(BIN)/test.rc)

# cover runs every test with coverage of every package, the end-to-end
# binaries' runs included (cmd/internal/e2ebin builds them with -cover and
# shares the GOCOVERDIR), and prints the statement coverage of each package.
cover:
	@rm -rf $(BIN)/cover && mkdir -p $(BIN)/cover
	$(GO) test -count=1 -timeout 30m -cover -covermode=atomic -coverpkg=ota-agent/... ./... \
		-args -test.gocoverdir=$(abspath $(BIN)/cover) > $(BIN)/cover.txt 2>&1; \
		rc=$$?; grep -E '^(FAIL|---|panic)' $(BIN)/cover.txt; \
		$(GO) tool covdata percent -i=$(BIN)/cover | sed 's/^[[:space:]]*//' | sort; exit $$rc

# bench runs every benchmark once (one full run each) and prints one table of
# the figures that matter; the raw output stays in $(BIN)/bench.txt.
bench:
	@mkdir -p $(BIN)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./... > $(BIN)/bench.txt 2>&1; \
		rc=$$?; cat $(BIN)/bench.txt; $(MAKE) --no-print-directory bench-table; exit $$rc

# bench-table formats $(BIN)/bench.txt (see README "Measured figures").
bench-table:
	@echo; echo "ota-agent measured figures, $$(date -u +%Y-%m-%d), $$(nproc) x $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	@awk -f testdata/e2e/benchtable.awk $(BIN)/bench.txt

# bench-peers (root) times ota-agent's A/B install next to Mender, RAUC,
# SWUpdate, dd and curl|dd on one loop-device slot, installing the peers from
# Debian packages first; table in $(BIN)/bench-peers.txt and .json (README
# "Measured figures"). N, WARMUP, SIZE_MB, ROWS and W tune it.
bench-peers: build
	testdata/e2e/bench-peers.sh $(BIN)/ota-agent

# demo runs the whole product on simulated hardware (no root, no network):
# ota-sim drives the real ota-agent next to it as a subprocess.
demo: build
	$(BIN)/ota-sim demo $(DEMOFLAGS)

# stress runs the long fault campaigns; set SEED to replay one.
STRESS_RUNS ?= 40
stress:
	@mkdir -p $(BIN)
	OTA_E2E_RUNS=$(STRESS_RUNS) $(if $(SEED),OTA_E2E_SEED=$(SEED)) $(GO) test -count=1 -v -timeout 60m \
		-run 'TestE2E(PowerCuts|NetworkFaults|SerialFaults)' ./cmd/ota-agent > $(BIN)/stress.txt 2>&1; \
		rc=$$?; grep -E 'campaign|FAIL|^ok|--- |run [0-9]+' $(BIN)/stress.txt; exit $$rc

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf $(BIN)

# board builds the QEMU board under $(BOARD) (README "The board in QEMU"; root,
# mmdebstrap, qemu-user-static): the arm64 rootfs is bootstrapped once, the
# slots and disk are remade when the agent or testdata/board change. The
# agent is built without the date so that an unchanged tree keeps the disk.
BOARD ?= $(BIN)/board
BOARD_AGENT := $(BOARD)/ota-agent-linux-arm64
.PHONY: board board-test
board: $(BOARD)/disk.img

$(BOARD)/disk.img: $(BOARD_AGENT) $(wildcard testdata/board/*)
	testdata/board/build.sh $(BOARD) $(BOARD_AGENT)

$(BOARD_AGENT): FORCE
	@mkdir -p $(BOARD)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $@.new ./cmd/ota-agent
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# board-test runs the board's scenarios in QEMU (SCENARIO=name for one;
# SEED and CUTS set the power-cut campaign).
board-test: board
	$(GO) build -o $(BIN)/ota-board ./cmd/ota-board
	$(BIN)/ota-board test -dir $(BOARD) $(if $(SCENARIO),-scenario $(SCENARIO)) $(if $(SEED),-seed $(SEED)) $(if $(CUTS),-cuts $(CUTS))

.PHONY: FORCE
FORCE:
