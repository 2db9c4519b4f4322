# ota-agent: see README.md. `make demo` runs the product on simulated hardware,
# `make test` runs the tests.

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
STATICCHECK_VERSION ?= 2025.1.1

.PHONY: all build cross test bench stress lint demo clean

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

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

demo:
	CGO_ENABLED=0 $(GO) run ./cmd/ota-agent demo

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf $(BIN)
