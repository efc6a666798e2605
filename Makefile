# QENEX build. `make run` boots the bank image; `make test` runs every test.
# Each does its own set-up on a fresh machine (npm packages, system packages
# through scripts/deps.sh, the native addon, signing keys), and prints one
# header per step; tools run quietly unless they fail.

SHELL := /bin/bash
NODE ?= node
ASC := node_modules/.bin/asc
ASFLAGS := --config asconfig.json --target release
LISTEN ?= 127.0.0.1:7000
DATA ?= var/data/bank
# The development admin key `make run` creates once for $(DATA) and prints each time.
DEV_KEY ?= var/dev-admin-key.json
# A Rust toolchain from rustup counts too, before the shell adds it to the PATH.
export PATH := $(HOME)/.cargo/bin:$(PATH)

KERNEL_SRC := $(shell find kernel hal drivers lib -name '*.ts')
SDK_SRC := $(wildcard services/sdk/*.ts lib/*.ts lib/*/*.ts hal/*.ts hal/*/*.ts)
# A service may import another's wire contract (the gateway reads the ledger's), so every service depends on them all.
SERVICE_PROTOCOLS := $(wildcard services/*/protocol.ts)
# A service is a folder under services/ with an index.ts (or assembly/index.ts) entry.
SERVICE_DIRS := $(filter-out services/sdk,$(patsubst %/,%,$(dir $(wildcard services/*/index.ts services/*/assembly/index.ts))))
SERVICE_NAMES := $(sort $(patsubst services/%,%,$(patsubst %/assembly,%,$(SERVICE_DIRS))))
SERVICE_WASM := $(patsubst %,build/services/%.wasm,$(SERVICE_NAMES))
HOST_SRC := $(shell find host hal -name '*.ts')
TS_SRC := $(shell find host hal test services fuzz -name '*.ts' -not -path '*/node_modules/*') tsconfig.json
NATIVE_NODE := host/native/qenex-native.$(shell $(NODE) -p 'process.platform + "-" + process.arch + (process.platform === "linux" ? "-gnu" : "")').node
# The addon is a cdylib that Node loads as a .node file (host/devices/block-backend.ts,
# host/hsm/hsm.ts name it after package.json's napi.binaryName and the platform).
NATIVE_LIB := $(shell $(NODE) -p '({ linux: "libqenex_native.so", darwin: "libqenex_native.dylib", win32: "qenex_native.dll" })[process.platform]')
IMAGES := build/bank.qxi build/demo.qxi

step = @printf '== %s\n' "$(1)"

.PHONY: all install build wasm native cli typecheck test run run-check bench bench-scale clean image keys cluster test-cluster fuzz fuzz-props test-crash test-hostile sim test-qemu-arm test-qemu-vm fraud-train

.SECONDEXPANSION:

all: build

node_modules/.installed: package.json package-lock.json
	$(call step,install: npm packages (npm ci))
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: node_modules/.installed

build: install wasm native cli typecheck

wasm: build/kernel.wasm $(SERVICE_WASM) build/test/kernel-lib.wasm build/test/store-lib.wasm build/test/fraud-lib.wasm

build/kernel.wasm: $(KERNEL_SRC) asconfig.json | install
	$(call step,build: kernel.wasm)
	@mkdir -p build
	@$(ASC) kernel/main.ts $(ASFLAGS) -o $@

build/services/%.wasm: $(SDK_SRC) $(SERVICE_PROTOCOLS) asconfig.json $$(shell find services/$$* -name '*.ts' -not -path '*/test/*') | install
	$(call step,build: service $*)
	@mkdir -p build/services
	@$(ASC) $$(ls services/$*/index.ts services/$*/assembly/index.ts 2>/dev/null | head -1) $(ASFLAGS) --use abort= -o $@

build/test/kernel-lib.wasm: test/assembly/kernel-lib.ts $(KERNEL_SRC) | install
	$(call step,build: kernel-lib.wasm (kernel units for tests))
	@mkdir -p build/test
	@$(ASC) test/assembly/kernel-lib.ts $(ASFLAGS) -o $@

# The storage engine (lib/store) for test/unit/store.test.ts; with the abort import (unlike a
# service's --use abort=) so that a failed assertion reaches the test with its message.
build/test/store-lib.wasm: test/assembly/store-lib.ts $(shell find lib hal -name '*.ts') asconfig.json | install
	$(call step,build: store-lib.wasm (storage engine for tests))
	@mkdir -p build/test
	@$(ASC) test/assembly/store-lib.ts $(ASFLAGS) -o $@

# The compliance service's fraud model (services/compliance/assembly/fraud.ts) for
# test/unit/compliance-fraud.test.ts; with the abort import, as store-lib.wasm.
build/test/fraud-lib.wasm: test/assembly/fraud-lib.ts services/compliance/assembly/fraud.ts services/compliance/assembly/fraud-model.ts services/compliance/protocol.ts asconfig.json | install
	$(call step,build: fraud-lib.wasm (the fraud model for tests))
	@mkdir -p build/test
	@$(ASC) test/assembly/fraud-lib.ts $(ASFLAGS) -o $@

# Trains the fraud model again (scripts/fraud/train.ts; docs/compliance-fraud.md): writes
# services/compliance/assembly/fraud-model.ts, the same bytes each time, and prints its figures.
fraud-train: | install
	@$(NODE) --import tsx scripts/fraud/train.ts

native: $(NATIVE_NODE)

$(NATIVE_NODE): $(wildcard host/native/src/*.rs) host/native/Cargo.toml host/native/Cargo.lock host/native/build.rs hal/log.ts
	@bash scripts/deps.sh build
	$(call step,build: native addon (cargo build --release; the first build takes a minute))
	@cd host/native && cargo build --release --locked --quiet
	@cp host/native/target/release/$(NATIVE_LIB) $@

cli: dist/qenex.js

# dist/qenex.js is the launcher (host/cmd/launch.ts); the command is one
# CommonJS bundle beside it, dist/qenex.cjs, which the launcher compiles with
# V8's code cache dist/qenex.cjs.cache when that was made for these bytes.
# Both are CommonJS (dist/package.json): an ES module entry point costs Node
# its ESM loader, ~10 ms before the first line runs.
# ML-DSA's SHAKE is node:crypto's in the bundle (host/base/shake.ts).
dist/qenex.js: $(HOST_SRC) host/fuel-instrument.mjs package.json | install
	$(call step,build: dist/qenex.js (the CLI, one bundle, and its launcher))
	@npx esbuild host/cmd/cli.ts --bundle --platform=node --format=cjs --target=node18 --outfile=dist/qenex.cjs --external:binaryen \
	  --alias:@noble/hashes/sha3.js=./host/base/shake.ts \
	  --define:import.meta.url=__qx_import_meta_url --banner:js='const __qx_import_meta_url = require("node:url").pathToFileURL(__filename).href;' \
	  --log-level=warning
	@npx esbuild host/cmd/launch.ts --bundle --platform=node --format=cjs --target=node18 --outfile=$@ --log-level=warning \
	  --define:import.meta.url=__qx_import_meta_url --banner:js=$$'#!/usr/bin/env node\nconst __qx_import_meta_url = require("node:url").pathToFileURL(__filename).href;'
	@printf '{ "type": "commonjs" }\n' > dist/package.json
	@rm -f dist/qenex.cjs.cache
	@chmod +x $@

# V8's code cache of the bundle (host/cmd/launch.ts): what one boot of the
# bank image compiles, so that later boots do not compile it again.
dist/qenex.cjs.cache: dist/qenex.js build/bank.qxi var/keys/signing.key
	$(call step,build: dist/qenex.cjs.cache (V8 code cache of the CLI, from one boot of build/bank.qxi))
	@tmp=$$(mktemp -d) && QENEX_CODE_CACHE=write $(NODE) dist/qenex.js boot build/bank.qxi --data $$tmp/data --trust var/keys/signing.pub --once >/dev/null; \
	  rc=$$?; rm -rf $$tmp; exit $$rc

# The type check runs again only when a TypeScript file changed.
typecheck: build/.typecheck

build/.typecheck: $(TS_SRC) | install
	$(call step,build: type check (tsc))
	@mkdir -p build
	@npx tsc --noEmit -p .
	@touch $@

# System packages the tests need (SoftHSM2, openssl) are installed when missing;
# the FIX counterparty (QuickFIX/J, fix-tools) and the NATS server (nats-tools) are
# fetched or checked first, so a missing network fails here, before any test runs.
test: build fix-tools nats-tools
	@bash scripts/deps.sh test
	$(call step,test: every file in test/ and services/*/test (two at a time))
	@$(NODE) test/run.mjs

# Coverage-guided fuzzing (fuzz/main.ts): each target runs until it has
# FUZZ_EXECS executions on its current code without a finding, FUZZ_JOBS at
# a time. Resumable: counts are kept in build/fuzz/status.json by a digest
# of the fuzzed code, and an interrupted run goes on where it stopped. The
# corpus it keeps (fuzz/corpus/, minimised) belongs in the repo; `make test`
# replays it. FUZZ_TARGETS=json,http runs some targets only.
FUZZ_EXECS ?= 10000000
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?=
fuzz: build
	$(call step,fuzz: coverage-guided to $(FUZZ_EXECS) executions per target on its current code)
	@$(NODE) --import tsx fuzz/main.ts run --execs $(FUZZ_EXECS) --jobs $(FUZZ_JOBS) $(if $(FUZZ_TARGETS),--targets $(FUZZ_TARGETS))

# The property fuzzers (test/fuzz, fast-check generators and the same
# oracles; a short budget runs in `make test`) at about FUZZ_RUNS runs per
# property, fresh random seeds (a failure prints its seed).
FUZZ_RUNS ?= 20000
fuzz-props: build
	QENEX_FUZZ_RUNS=$(FUZZ_RUNS) QENEX_FUZZ_RANDOM=1 QENEX_TEST_FILE_TIMEOUT_MS=7200000 $(NODE) test/run.mjs test/fuzz/

# The hostile-client suite (test/hostile) at length: every attack HOSTILE_SCALE
# times larger (`make test` runs it at scale 1).
HOSTILE_SCALE ?= 10
test-hostile: build
	QENEX_HOSTILE_SCALE=$(HOSTILE_SCALE) QENEX_TEST_FILE_TIMEOUT_MS=3600000 $(NODE) test/run.mjs test/hostile/

# The crash tests (test/crash) at length: CRASH_ITERATIONS SIGKILLs under
# load, in CRASH_SEEDS seeds of CRASH_ITERATIONS / CRASH_SEEDS lives each, two
# seeds at a time (each life boots and replays its data directory, whose
# history grows with every life: four histories of 250 lives take a fraction
# of the time of one of 1,000), then CRASH_CUTS power-loss cuts of the log
# and a full disk; then CRASH_GRID_ITERATIONS SIGKILLs of a ledger on its
# grid with a snapshot every 4 entries (kills during checkpoints and
# compactions: test/crash/crash-grid.test.ts, two seeds); then
# CRASH_PAYMENTS_ITERATIONS SIGKILLs of the bank image under payments load
# (test/crash/crash-payments.test.ts, two seeds); then
# CRASH_TRADING_ITERATIONS SIGKILLs under trading load with settlement
# (test/crash/crash-trading.test.ts, two seeds). `make test` runs a
# handful of each. Each seed's output goes to build/crash/seed-<n>.log.
CRASH_ITERATIONS ?= 1000
CRASH_SEEDS ?= 4
CRASH_CUTS ?= 20
CRASH_GRID_ITERATIONS ?= 200
CRASH_PAYMENTS_ITERATIONS ?= 100
CRASH_TRADING_ITERATIONS ?= 100
test-crash: build
	@mkdir -p build/crash
	$(call step,test-crash: $(CRASH_ITERATIONS) SIGKILLs in $(CRASH_SEEDS) seeds (logs in build/crash), then power loss (one log file and 4 KiB segments) and a full disk, then $(CRASH_GRID_ITERATIONS) on the grid, $(CRASH_PAYMENTS_ITERATIONS) under payments and $(CRASH_TRADING_ITERATIONS) under trading)
	@lives=$$(( ($(CRASH_ITERATIONS) + $(CRASH_SEEDS) - 1) / $(CRASH_SEEDS) )); rc=0; pids=(); \
	for s in $$(seq 1 $(CRASH_SEEDS)); do \
	  QENEX_CRASH_SEED=$$s QENEX_CRASH_ITERATIONS=$$lives QENEX_TEST_FILE_TIMEOUT_MS=7200000 \
	    $(NODE) test/run.mjs test/crash/crash-loop > build/crash/seed-$$s.log 2>&1 & pids+=($$!); \
	  if [ $${#pids[@]} -eq 2 ] || [ $$s -eq $(CRASH_SEEDS) ]; then \
	    for p in $${pids[@]}; do wait $$p || rc=1; done; pids=(); fi; \
	done; grep -h '^ok\|^FAIL\|summary:' build/crash/seed-*.log; \
	QENEX_CRASH_CUTS=$(CRASH_CUTS) QENEX_TEST_FILE_TIMEOUT_MS=7200000 $(NODE) test/run.mjs test/crash/power-loss test/crash/disk-full || rc=1; \
	QENEX_LOG_SEGMENT_BYTES=4096 QENEX_CRASH_CUTS=$(CRASH_CUTS) QENEX_TEST_FILE_TIMEOUT_MS=7200000 $(NODE) test/run.mjs test/crash/power-loss || rc=1; \
	for s in 1 2; do \
	  QENEX_CRASH_SEED=$$s QENEX_CRASH_ITERATIONS=$$(( ($(CRASH_GRID_ITERATIONS) + 1) / 2 )) QENEX_TEST_FILE_TIMEOUT_MS=7200000 \
	    $(NODE) test/run.mjs test/crash/crash-grid > build/crash/grid-seed-$$s.log 2>&1 & pids+=($$!); \
	done; for p in $${pids[@]}; do wait $$p || rc=1; done; grep -h '^ok\|^FAIL\|summary:' build/crash/grid-seed-*.log; pids=(); \
	for s in 1 2; do \
	  QENEX_CRASH_SEED=$$s QENEX_CRASH_ITERATIONS=$$(( ($(CRASH_PAYMENTS_ITERATIONS) + 1) / 2 )) QENEX_TEST_FILE_TIMEOUT_MS=7200000 \
	    $(NODE) test/run.mjs test/crash/crash-payments > build/crash/payments-seed-$$s.log 2>&1 & pids+=($$!); \
	done; for p in $${pids[@]}; do wait $$p || rc=1; done; grep -h '^ok\|^FAIL\|summary:' build/crash/payments-seed-*.log; pids=(); \
	for s in 1 2; do \
	  QENEX_CRASH_SEED=$$s QENEX_CRASH_ITERATIONS=$$(( ($(CRASH_TRADING_ITERATIONS) + 1) / 2 )) QENEX_TEST_FILE_TIMEOUT_MS=7200000 \
	    $(NODE) test/run.mjs test/crash/crash-trading > build/crash/trading-seed-$$s.log 2>&1 & pids+=($$!); \
	done; for p in $${pids[@]}; do wait $$p || rc=1; done; grep -h '^ok\|^FAIL\|summary:' build/crash/trading-seed-*.log; exit $$rc

# Long deterministic simulation runs (host/sim): seeds 1..SEEDS of STEPS
# steps, SIM_JOBS processes sharing the range. Resumable: what passed with
# this image is kept in build/sim/progress-<steps>-<shard>.json and skipped by
# the next run; each shard's output is added to build/sim/shard-<k>.log.
# A larger young generation: a seed boots some 350 machines, and the default
# one spends about a tenth of the run collecting.
SEEDS ?= 1000
STEPS ?= 10000
SIM_JOBS ?= 2
SIM_NODE_FLAGS ?= --max-semi-space-size=32
sim: build
	@mkdir -p build/sim
	$(call step,sim: seeds 1..$(SEEDS) of $(STEPS) steps in $(SIM_JOBS) processes (logs in build/sim))
	@pids=(); for k in $$(seq 0 $$(( $(SIM_JOBS) - 1 ))); do \
	  $(NODE) $(SIM_NODE_FLAGS) dist/qenex.js sim --seeds 1..$(SEEDS) --steps $(STEPS) --shard $$k/$(SIM_JOBS) \
	    --progress build/sim/progress-$(STEPS)-$$k.json >> build/sim/shard-$$k.log 2>&1 & pids+=($$!); done; \
	rc=0; for p in $${pids[@]}; do wait $$p || rc=1; done; grep -h '^summary:\|FAIL' build/sim/shard-*.log; exit $$rc

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
	$(call step,keys: signing keys in var/keys (ECDSA P-384 + ML-DSA-65; development only))
	@$(NODE) dist/qenex.js keygen --out var/keys >/dev/null

image: $(IMAGES) dist/qenex.cjs.cache

build/%.qxi: images/%/manifest.json build/kernel.wasm $(SERVICE_WASM) dist/qenex.js var/keys/signing.key
	$(call step,image: $@ (signed with var/keys/signing.key))
	@$(NODE) dist/qenex.js build images/$* -o $@ --key var/keys/signing.key >/dev/null

# A second `make run` on a data directory in use says so before building.
run-check:
	@if [ -f $(DATA)/log.qxl ] && command -v flock >/dev/null && ! flock -n $(DATA)/log.qxl true; then \
	  echo "qenex: $(DATA) is in use by a running qenex; stop it (Ctrl-C there) or use another: make run DATA=var/data/other LISTEN=127.0.0.1:7001" >&2; exit 1; fi

# Boots the bank image on $(DATA) (created on the first run) and serves on
# $(LISTEN). The development admin key is made once per data directory and
# kept in $(DEV_KEY); a new data directory gets a new one.
run: run-check build image
	@if [ ! -f $(DATA)/image.qxi ]; then \
	  printf '== run: a new data directory %s\n' "$(DATA)"; rm -f $(DEV_KEY); \
	  $(NODE) dist/qenex.js boot build/bank.qxi --data $(DATA) --trust var/keys/signing.pub --once >/dev/null; fi
	@if [ ! -f $(DEV_KEY) ]; then $(NODE) dist/qenex.js keys create --data $(DATA) --trust var/keys/signing.pub --role admin --save $(DEV_KEY) >/dev/null; fi
	@$(NODE) scripts/run-banner.mjs $(DEV_KEY) $(DATA) $(LISTEN)
	@$(NODE) dist/qenex.js boot build/bank.qxi --data $(DATA) --trust var/keys/signing.pub --audit-key var/keys/signing.key --listen $(LISTEN)

bench: build image nats-tools
	$(NODE) --import tsx test/bench/run.ts

# A throw-away cluster on loopback to look at: three NATS servers, three nodes
# of the bank image (scripts/cluster.ts); Ctrl-C stops it.
cluster: build image nats-tools
	@$(NODE) --import tsx scripts/cluster.ts

# The cluster tests with more leader kills than `make test` makes (docs/cluster.md).
CLUSTER_KILLS ?= 10
test-cluster: build nats-tools
	$(call step,test-cluster: the cluster tests with $(CLUSTER_KILLS) leader kills, then the NATS servers' own)
	@QENEX_CLUSTER_KILLS=$(CLUSTER_KILLS) QENEX_TEST_FILE_TIMEOUT_MS=3600000 $(NODE) test/run.mjs test/integration/cluster test/integration/nats-cluster

# Opt-in, not part of test or bench: the storage benchmark with 100M transfers (tens of GB of
# disk, checked first; test/bench/storage/scale.ts), merged into build/bench/storage.json.
bench-scale: build image
	$(NODE) --import tsx test/bench/storage/scale.ts

clean:
	rm -rf build dist host/native/target $(NATIVE_NODE)

# ---- The FIX counterparty in tests (docs/fix.md, "The counterparty in tests") ----
# QuickFIX/J's jars (test/fix/pom.xml), fetched once from Maven Central into FIX_CACHE,
# outside the clone, and checked against test/fix/jars.sha256 (test/fix/fetch.sh); the
# initiator (test/fix/initiator) and the stub acceptor (test/fix/acceptor-stub) compiled
# into build/fix-tools, whose file classpath is what test/support/fix-initiator.ts runs.
# A prerequisite of `test`: the acceptor's tests run QuickFIX/J initiators against it.
QUICKFIXJ_VERSION := 2.3.2
FIX_CACHE ?= $(HOME)/.cache/qenex/quickfixj/$(QUICKFIXJ_VERSION)
FIX_JAVA := $(wildcard test/fix/initiator/qenex/*.java test/fix/acceptor-stub/qenex/*.java)

.PHONY: fix-tools fix-jars
fix-tools: build/fix-tools/classpath

# Runs each time (a check of the cached jars' SHA-256, milliseconds) without forcing a compile.
fix-jars:
	@bash test/fix/fetch.sh $(FIX_CACHE)

build/fix-tools/classpath: $(FIX_JAVA) test/fix/jars.sha256 | fix-jars
	$(call step,build: FIX test peers on QuickFIX/J $(QUICKFIXJ_VERSION) (build/fix-tools))
	@rm -rf build/fix-tools/classes.tmp && mkdir -p build/fix-tools/classes.tmp
	@jars=$$(awk '{printf "%s%s/jars/%s", (NR > 1 ? ":" : ""), "$(FIX_CACHE)", $$2}' test/fix/jars.sha256); \
	  javac --release 17 -Xlint:all -encoding UTF-8 -cp "$$jars" -d build/fix-tools/classes.tmp $(FIX_JAVA) && \
	  rm -rf build/fix-tools/classes && mv build/fix-tools/classes.tmp build/fix-tools/classes && \
	  printf '%s:%s\n' "$$jars" "$(CURDIR)/build/fix-tools/classes" > $@

# ---- The NATS servers in tests (docs/cluster.md, "The NATS servers in tests") ----
# nats-server, one pinned version, built with Go into a cache outside the clone
# (scripts/nats-server.sh; ~40 s the first time, milliseconds after); the cluster
# tests start it through test/support/nats-cluster.ts. A prerequisite of `test`.
# The cache is the environment's QENEX_CACHE (default ~/.cache/qenex), where the tests look too.
.PHONY: nats-tools
nats-tools:
	@bash scripts/nats-server.sh >/dev/null
