# sluice: `make run` starts the whole local stack, `make test` proves it.
# Everything the project needs beyond Go, Node/npm, gcc and apt is fetched here.

SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
BIN          := bin/sluice
CACHE        ?= $(HOME)/.cache/sluice

# The ClickHouse engine (chDB) as a shared library, from its npm package.
CHDB_VERSION := 26.5.3
CHDB_PKG     := @chdb/lib-linux-x64-gnu@$(CHDB_VERSION)
CHDB_SHA256  := b874e449710950da3abd7e20376f7bb3387d9e03adcc7082f022be18dfdf316a
CHDB_DIR     := $(CACHE)/chdb-$(CHDB_VERSION)
CHDB_LIB     := $(CHDB_DIR)/libchdb.so

# analytics.js (@segment/analytics-next's standalone bundle and its chunks),
# served by the tracking API to Segment's snippet; topology/api AnalyticsJSVersion.
AJS_VERSION  := 1.84.3
AJS_PKG      := @segment/analytics-next@$(AJS_VERSION)
AJS_SHA256   := f571d06c2c4de79fbb27b04696b2128294d09e3c057a5adc974ebed790b8d7ba
AJS_DIR      := $(CACHE)/analytics-next-$(AJS_VERSION)
AJS_BUNDLE   := $(AJS_DIR)/standalone.js

STATICCHECK_VERSION := v0.8.2
GOBIN        := $(shell $(GO) env GOPATH)/bin
STATICCHECK  := $(GOBIN)/staticcheck
COMPAT       := testenv/compat

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build run test vet lint unit deps engine analyticsjs compat kcat chromium staticcheck bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/sluice

## run: build and start `sluice dev` (embedded Kafka, local ClickHouse, every role).
run: build engine analyticsjs
	./$(BIN) dev $(ARGS)

## test: from nothing to green: dependencies, vet, staticcheck, race-enabled tests.
test: deps vet lint unit

unit:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

lint: staticcheck
	$(STATICCHECK) ./...

## bench: Go benchmarks (the `sluice bench` commands measure whole paths).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: run every fuzz target briefly (FUZZTIME each).
FUZZTIME ?= 10s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

deps: engine analyticsjs compat kcat chromium staticcheck
	$(GO) mod download

## engine: fetch the ClickHouse engine once, verify its checksum, keep it outside the repo.
engine: $(CHDB_LIB)

$(CHDB_LIB):
	mkdir -p $(CHDB_DIR)
	tmp=$$(mktemp -d); \
	(cd $$tmp && npm pack --silent $(CHDB_PKG) >/dev/null); \
	tgz=$$(ls $$tmp/*.tgz); \
	echo "$(CHDB_SHA256)  $$tgz" | sha256sum -c --quiet -; \
	tar -xzf $$tgz -C $$tmp package/libchdb.so; \
	mv $$tmp/package/libchdb.so $@.part && mv $@.part $@; \
	rm -rf $$tmp
	@echo "ClickHouse engine $(CHDB_VERSION) at $@"

## analyticsjs: fetch analytics.js once from the npm registry, verify its checksum, keep its bundle files.
analyticsjs: $(AJS_BUNDLE)

$(AJS_BUNDLE):
	mkdir -p $(CACHE)
	tmp=$$(mktemp -d); \
	(cd $$tmp && npm pack --silent $(AJS_PKG) >/dev/null); \
	tgz=$$(ls $$tmp/*.tgz); \
	echo "$(AJS_SHA256)  $$tgz" | sha256sum -c --quiet -; \
	tar -xzf $$tgz -C $$tmp package/dist/umd; \
	rm -f $$tmp/package/dist/umd/*.gz $$tmp/package/dist/umd/*.map; \
	rm -rf $(AJS_DIR) && mv $$tmp/package/dist/umd $(AJS_DIR); \
	rm -rf $$tmp
	@echo "analytics.js $(AJS_VERSION) at $(AJS_DIR)"

## compat: the independent clients the compatibility tests drive.
compat: $(COMPAT)/node_modules/.package-lock.json

$(COMPAT)/node_modules/.package-lock.json: $(COMPAT)/package.json $(COMPAT)/package-lock.json
	npm ci --prefix $(COMPAT) --no-audit --no-fund --silent

kcat:
	@command -v kcat >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq kcat; }

## chromium: Debian's Chromium, the browser the analytics.js test drives.
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

staticcheck: $(STATICCHECK)

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf bin
