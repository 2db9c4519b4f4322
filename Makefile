# ota-agent: see README.md. `make demo` runs the product on simulated hardware,
# `make test` runs the tests.

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
# staticcheck 2025.1.1 is module version v0.6.1 (go run needs the module version).
STATICCHECK_VERSION ?= v0.6.1

.PHONY: all build cross test bench bench-table bench-peers stress lint demo clean

all: build

build:
	$(GOBUILD) -o $(BIN)/ota-agent ./cmd/ota-agent

cross:
	GOOS=linux GOARCH=arm GOARM=7 $(GOBUILD) -o $(BIN)/ota-agent-linux-armv7 ./cmd/ota-agent
	GOOS=linux GOARCH=arm64 $(GOBUILD) -o $(BIN)/ota-agent-linux-arm64 ./cmd/ota-agent
	GOOS=linux GOARCH=amd64 $(GOBUILD) -o $(BIN)/ota-agent-linux-amd64 ./cmd/ota-agent
	@ls -l $(BIN)/ota-agent-linux-*

test:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	$(GO) test -count=1 -timeout 30m ./...

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

# demo runs the whole product on simulated hardware (no root, no network).
demo: build
	$(BIN)/ota-agent demo $(DEMOFLAGS)

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
