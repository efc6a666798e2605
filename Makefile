# QENEX build. `make run` boots the default image; `make test` runs every test.
# Every step is a plain command so CI and a fresh machine do the same thing.

SHELL := /bin/bash
NODE ?= node
ASC := node_modules/.bin/asc
ASFLAGS := --config asconfig.json --target release
LISTEN ?= 127.0.0.1:7000
DATA ?= var/data/bank

KERNEL_SRC := $(shell find kernel hal drivers -name '*.ts')
SDK_SRC := $(wildcard services/sdk/*.ts)
# A service is a folder under services/ with an index.ts (or assembly/index.ts) entry.
SERVICE_DIRS := $(filter-out services/sdk,$(patsubst %/,%,$(dir $(wildcard services/*/index.ts services/*/assembly/index.ts))))
SERVICE_NAMES := $(sort $(patsubst services/%,%,$(patsubst %/assembly,%,$(SERVICE_DIRS))))
SERVICE_WASM := $(patsubst %,build/services/%.wasm,$(SERVICE_NAMES))
NATIVE_NODE := host/native/qenex-native.$(shell $(NODE) -p 'process.platform + "-" + process.arch + (process.platform === "linux" ? "-gnu" : "")').node

.PHONY: all install build wasm native cli typecheck test test-unit run bench clean image keys

.SECONDEXPANSION:

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install wasm native cli typecheck

wasm: build/kernel.wasm $(SERVICE_WASM) build/test/kernel-lib.wasm

build/kernel.wasm: $(KERNEL_SRC) asconfig.json | install
	@mkdir -p build
	$(ASC) kernel/main.ts $(ASFLAGS) -o $@

build/services/%.wasm: $(SDK_SRC) asconfig.json $$(shell find services/$$* -name '*.ts' -not -path '*/test/*') | install
	@mkdir -p build/services
	$(ASC) $$(ls services/$*/index.ts services/$*/assembly/index.ts 2>/dev/null | head -1) $(ASFLAGS) --use abort= -o $@

build/test/kernel-lib.wasm: test/assembly/kernel-lib.ts $(KERNEL_SRC) | install
	@mkdir -p build/test
	$(ASC) test/assembly/kernel-lib.ts $(ASFLAGS) -o $@

native: $(NATIVE_NODE)

$(NATIVE_NODE): $(wildcard host/native/src/*.rs) host/native/Cargo.toml host/native/build.rs | install
	cd host/native && npx napi build --platform --release --package-json-path ../../package.json --output-dir .

cli: dist/qenex.js

dist/qenex.js: $(shell find host hal -name '*.ts') | install
	npx esbuild host/cli.ts --bundle --platform=node --format=esm --target=node18 --outfile=$@ \
	  --banner:js='#!/usr/bin/env node' --log-level=warning
	@chmod +x $@

typecheck: | install
	npx tsc --noEmit -p .

test: build
	$(NODE) test/run.mjs

keys: var/keys/signing.key

var/keys/signing.key: | cli
	$(NODE) dist/qenex.js keygen --out var/keys

image: build/bank.qxi

build/bank.qxi: build keys images/bank/manifest.json
	$(NODE) dist/qenex.js build images/bank -o $@ --key var/keys/signing.key

run: build image
	$(NODE) dist/qenex.js boot build/bank.qxi --data $(DATA) --trust var/keys/signing.pub --listen $(LISTEN)

bench: build image
	$(NODE) --import tsx test/bench/run.ts

clean:
	rm -rf build dist host/native/target $(NATIVE_NODE)
