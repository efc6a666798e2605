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

.PHONY: all install build wasm native cli typecheck test test-unit run bench clean image keys fuzz test-crash test-hostile sim test-qemu-arm test-qemu-vm

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

# The addon is a cdylib that Node loads as a .node file (host/devices/block-backend.ts,
# host/hsm/hsm.ts name it after package.json's napi.binaryName and the platform).
NATIVE_LIB := $(shell $(NODE) -p '({ linux: "libqenex_native.so", darwin: "libqenex_native.dylib", win32: "qenex_native.dll" })[process.platform]')

$(NATIVE_NODE): $(wildcard host/native/src/*.rs) host/native/Cargo.toml host/native/Cargo.lock host/native/build.rs
	cd host/native && cargo build --release --locked --quiet
	cp host/native/target/release/$(NATIVE_LIB) $@

cli: dist/qenex.js

dist/qenex.js: $(shell find host hal -name '*.ts') | install
	npx esbuild host/cli.ts --bundle --platform=node --format=esm --target=node18 --outfile=$@ --external:binaryen \
	  --banner:js=$$'#!/usr/bin/env node\nimport { createRequire as qxCreateRequire } from "node:module"; const require = qxCreateRequire(import.meta.url);' --log-level=warning
	@chmod +x $@

typecheck: | install
	npx tsc --noEmit -p .

test: build
	$(NODE) test/run.mjs

# Long fuzzing (test/fuzz; a short budget runs in `make test`): about
# FUZZ_RUNS runs per property, fresh random seeds (a failure prints its seed).
FUZZ_RUNS ?= 20000
fuzz: build
	QENEX_FUZZ_RUNS=$(FUZZ_RUNS) QENEX_FUZZ_RANDOM=1 QENEX_TEST_FILE_TIMEOUT_MS=7200000 $(NODE) test/run.mjs test/fuzz/

# The hostile-client suite (test/hostile) at length: every attack HOSTILE_SCALE
# times larger (`make test` runs it at scale 1).
HOSTILE_SCALE ?= 10
test-hostile: build
	QENEX_HOSTILE_SCALE=$(HOSTILE_SCALE) QENEX_TEST_FILE_TIMEOUT_MS=3600000 $(NODE) test/run.mjs test/hostile/

# The crash tests (test/crash) at length: CRASH_ITERATIONS SIGKILLs under load
# and CRASH_CUTS power-loss cuts of the log (`make test` runs a handful).
CRASH_ITERATIONS ?= 50
CRASH_CUTS ?= 20
test-crash: build
	QENEX_CRASH_ITERATIONS=$(CRASH_ITERATIONS) QENEX_CRASH_CUTS=$(CRASH_CUTS) QENEX_TEST_FILE_TIMEOUT_MS=7200000 $(NODE) test/run.mjs test/crash/

# Long deterministic simulation runs (host/sim): `make sim SEEDS=100000`.
SEEDS ?= 1000
STEPS ?= 300
sim: build
	$(NODE) dist/qenex.js sim --seeds 1..$(SEEDS) --steps $(STEPS)

# The same image on aarch64 (Debian 12's arm64 Node.js 18 under qemu-user,
# fetched into build/qemu) and here: same replies, log and state hash.
test-qemu-arm: build
	bash test/qemu/arm64-sysroot.sh
	$(NODE) test/qemu/bundle.mjs
	$(NODE) --import tsx test/qemu/arm.qemu.ts

# The bank image in a QEMU virtual machine (Debian's kernel, an initramfs the
# test builds, data on a virtio disk): hard kill, boot again, nothing lost.
test-qemu-vm: build
	bash test/qemu/vm-assets.sh
	$(NODE) --import tsx test/qemu/vm.qemu.ts

keys: var/keys/signing.key

var/keys/signing.key: | cli
	$(NODE) dist/qenex.js keygen --out var/keys

image: build/bank.qxi build/demo.qxi

build/%.qxi: build keys images/%/manifest.json
	$(NODE) dist/qenex.js build images/$* -o $@ --key var/keys/signing.key

# A development admin key is added to the data directory's log (through the
# gateway service, as `qenex keys create` does) and printed before serving.
run: build image
	@test -f $(DATA)/image.qxi || $(NODE) dist/qenex.js boot build/bank.qxi --data $(DATA) --trust var/keys/signing.pub --once >/dev/null
	@echo "development admin key (use: curl -H 'Authorization: Bearer <key>' ...):"
	@$(NODE) dist/qenex.js keys create --data $(DATA) --trust var/keys/signing.pub --role admin
	$(NODE) dist/qenex.js boot build/bank.qxi --data $(DATA) --trust var/keys/signing.pub --audit-key var/keys/signing.key --listen $(LISTEN)

bench: build image
	$(NODE) --import tsx test/bench/run.ts

clean:
	rm -rf build dist host/native/target $(NATIVE_NODE)
