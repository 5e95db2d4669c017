# sluice - XDP edge appliance.  `make` builds everything; `make test` and
# `make demo` install missing Debian packages first (`make deps`).
.DEFAULT_GOAL := all

CLANG   ?= clang
CC      ?= gcc
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
BUILD   := build
MULTIARCH := $(shell $(CC) -dumpmachine)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Wextra -Werror \
	-Wno-unused-parameter -I/usr/include/$(MULTIARCH) -Ixdp
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -I$(BUILD) -Ixdp -Ictl
LDLIBS  := -lxdp -lbpf -lelf -lz -lconfig

# Debian packages the build, tests, lab and demo need.
DEPS_PKGS := clang llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev \
	libconfig-dev linux-libc-dev iproute2 ethtool iputils-ping netcat-openbsd \
	python3 tcpdump curl wrk nftables libclang-rt-14-dev tmux \
	hping3 bird2 iptables

BPF_OBJS  := $(BUILD)/sluice.bpf.o
SKELS     := $(BUILD)/sluice.skel.h $(BUILD)/decap.skel.h $(BUILD)/policy.skel.h
CTL_SRCS  := $(wildcard ctl/*.c)
CTL_OBJS  := $(patsubst ctl/%.c,$(BUILD)/ctl/%.o,$(CTL_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%.o,$(UNIT_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/ctl/main.o,$(CTL_OBJS))
HDRS      := $(wildcard xdp/*.h ctl/*.h tests/unit/*.h)

all: $(BUILD)/sluice $(BUILD)/unit_tests $(BUILD)/xdp_pass.bpf.o $(BUILD)/sluice-gen \
	$(BUILD)/sink.bpf.o

$(BUILD)/%.bpf.o: xdp/%.bpf.c $(wildcard xdp/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: tc/%.bpf.c $(wildcard xdp/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: bench/%.bpf.c $(wildcard bench/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(BUILD)/bench/%.o: bench/%.c $(wildcard bench/*.h) $(BUILD)/gen.skel.h | $(BUILD)/bench
	$(CC) $(CFLAGS) -Ibench -c $< -o $@

$(BUILD)/sluice-gen: $(BUILD)/bench/gen.o
	$(CC) $(CFLAGS) -o $@ $^ -lbpf -lelf -lz

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<)) > $@.tmp && mv $@.tmp $@

$(BUILD)/ctl/%.o: ctl/%.c $(HDRS) $(SKELS) | $(BUILD)/ctl
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/unit/%.c $(HDRS) $(SKELS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/sluice: $(CTL_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD) $(BUILD)/ctl $(BUILD)/tests $(BUILD)/bench:
	mkdir -p $@

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/tmp/sluice-deps.log 2>&1 \
		|| { echo "deps: apt-get failed, see /tmp/sluice-deps.log"; exit 1; }; \
	fi

test: deps
	$(MAKE) all
	tests/run.sh

unit: all
	$(BUILD)/unit_tests

demo: deps
	$(MAKE) all
	tests/lab/demo.sh

# Two sluice nodes behind a router's ECMP, VIPs over BGP (BIRD), one stopped.
demo-cluster: deps
	$(MAKE) all
	tests/lab/demo_cluster.sh

format:
	clang-format -i xdp/*.c xdp/*.h ctl/*.c ctl/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf $(BUILD)

.PHONY: all deps test unit demo demo-cluster format clean
.DELETE_ON_ERROR:
.SECONDARY:

# ---- benchmark (bench/bench.sh; bench/README.md says what it measures) -------
# `make bench` runs every scenario (SCENARIO=drop,scale,lb,mixed,reload picks
# some) and writes bench/results/; `make bench-smoke` runs each case for about
# a second on tiny prefix sets, into $(BENCH_OUT) (tests/bench runs it).
BENCH_OUT ?= $(BUILD)/bench-smoke

$(BUILD)/bench/sinkctl.o: $(BUILD)/sink.skel.h

$(BUILD)/sluice-sink: $(BUILD)/bench/sinkctl.o
	$(CC) $(CFLAGS) -o $@ $^ -lbpf -lelf -lz

# feedload: the feed load phases with the daemon's own code (bench/feedload.c),
# so it is rebuilt with ctl/'s headers
$(BUILD)/bench/feedload.o: $(HDRS) $(SKELS)
$(BUILD)/sluice-feedload: $(BUILD)/bench/feedload.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench: deps
	$(MAKE) all $(BUILD)/sluice-sink $(BUILD)/sluice-feedload
	BENCH_COMMAND="make bench$(if $(SCENARIO), SCENARIO=$(SCENARIO))" \
		bench/bench.sh $(if $(SCENARIO),--scenario $(SCENARIO))

bench-smoke: all $(BUILD)/sluice-sink $(BUILD)/sluice-feedload
	bench/bench.sh --smoke --out $(BENCH_OUT) $(if $(SCENARIO),--scenario $(SCENARIO))

.PHONY: bench bench-smoke

# ---- differential tester and fuzzing (tests/fuzz/README.md) -----------------
# The reference model (tests/model) and the packet generator (tests/fuzz) are
# linked into build/unit_tests, whose test_differential runs 100k frames
# through model and XDP program (`make test`).  `make fuzz` builds the
# sanitizer (ASan+UBSan) binaries and runs long passes: the differential
# tester and the libFuzzer harnesses over the config loader, prefix lists
# and the CLI.  `make fuzz-smoke` is the short pass tests/fuzz/test_fuzz.sh
# runs.  FUZZ_TIME (seconds per fuzzer), FUZZ_PACKETS, FUZZ_SEED change them.
DIFF_SRCS := tests/model/model.c tests/fuzz/pktgen.c tests/fuzz/diff.c tests/fuzz/repro.c
DIFF_OBJS := $(patsubst tests/%.c,$(BUILD)/difftest/%.o,$(DIFF_SRCS))
DIFF_HDRS := $(wildcard tests/model/*.h tests/fuzz/*.h)

$(BUILD)/difftest/%.o: tests/%.c $(DIFF_HDRS) $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/unit_tests: $(DIFF_OBJS)
$(BUILD)/tests/test_differential.o: $(DIFF_HDRS)

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 300
FUZZ_PACKETS ?= 2000000
FUZZ_SEED   ?= $(shell date +%s)
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -I$(BUILD) -Ixdp -Ictl $(FUZZ_SAN)
FUZZ_LIBS   := -lbpf -lelf -lz -lconfig
FUZZ_LIB_SRCS := $(wildcard ctl/config*.c) ctl/diag.c ctl/duration.c ctl/prefix.c ctl/services.c \
	ctl/maglev.c ctl/compile.c
FUZZ_LIB_OBJS := $(patsubst ctl/%.c,$(BUILD)/fuzz/ctl/%.o,$(FUZZ_LIB_SRCS))
# the CLI fuzzer runs these commands for real (the others are stubs), and
# prints the CLI's own error lines
FUZZ_CLI_OBJS := $(BUILD)/fuzz/ctl/main.o $(BUILD)/fuzz/ctl/cmd_check.o $(BUILD)/fuzz/ctl/cmd_load.o \
	$(BUILD)/fuzz/ctl/log_line.o
FUZZERS := $(BUILD)/fuzz/fuzz_config $(BUILD)/fuzz/fuzz_prefix $(BUILD)/fuzz/fuzz_cli

# the fuzzing runtime comes with clang (Debian: libclang-rt-14-dev)
fuzz-deps:
	@dpkg-query -W -f='$${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed" || \
		{ echo "fuzz-deps: installing libclang-rt-14-dev"; \
		  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		   libclang-rt-14-dev) >/tmp/sluice-fuzz-deps.log 2>&1 || \
		  { echo "fuzz-deps: apt-get failed, see /tmp/sluice-fuzz-deps.log"; exit 1; }; }

$(BUILD)/fuzz/ctl/main.o: ctl/main.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Dmain=sluice_cli_main -c $< -o $@

$(BUILD)/fuzz/ctl/%.o: ctl/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(SAN_EXCEPT_$*) -fsanitize=fuzzer-no-link -c $< -o $@

# Known UBSan findings, reported (tests/fuzz/README.md): compile_verdicts
# and verdicts_dump call qsort(NULL, 0, ...) for empty lists (ctl/compile.c,
# ctl/verdicts.c).  Only that check, only in those files, until they are
# fixed; then delete these lines.



$(BUILD)/fuzz/%.o: tests/fuzz/%.c $(DIFF_HDRS) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/cli_stubs.c: ctl/cli.h ctl/dataplane.h tests/fuzz/cli_stubs.sh
	@mkdir -p $(dir $@)
	sh tests/fuzz/cli_stubs.sh ctl/cli.h ctl/dataplane.h > $@.tmp && mv $@.tmp $@

$(BUILD)/fuzz/cli_stubs.o: $(BUILD)/fuzz/cli_stubs.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/fuzz_config: $(BUILD)/fuzz/fuzz_config.o $(BUILD)/fuzz/fuzz_common.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

$(BUILD)/fuzz/fuzz_prefix: $(BUILD)/fuzz/fuzz_prefix.o $(BUILD)/fuzz/fuzz_common.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

$(BUILD)/fuzz/fuzz_cli: $(BUILD)/fuzz/fuzz_cli.o $(BUILD)/fuzz/fuzz_common.o \
		$(BUILD)/fuzz/cli_stubs.o $(FUZZ_CLI_OBJS) $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

# The differential tester built with ASan + UBSan: the test runner, the
# model, the generator and all of ctl/ but main (the BPF object is the same).
ASAN_CFLAGS := $(filter-out -O2,$(CFLAGS)) -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_SRCS := tests/unit/harness.c tests/unit/frames.c tests/unit/test_differential.c \
	$(DIFF_SRCS) $(filter-out ctl/main.c,$(CTL_SRCS))
ASAN_OBJS := $(patsubst %.c,$(BUILD)/asan/%.o,$(ASAN_SRCS))

$(BUILD)/asan/%.o: %.c $(DIFF_HDRS) $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) $(SAN_EXCEPT_$(notdir $*)) -Itests/unit -c $< -o $@

$(BUILD)/asan/difftest: $(ASAN_OBJS)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)

fuzz-build: fuzz-deps
	$(MAKE) $(FUZZERS) $(BUILD)/asan/difftest

# Corpora: the config test corpus and tests/fuzz/corpus; new inputs found
# go to build/fuzz/corpus-*, crashes to build/fuzz/artifacts/.
FUZZ_ENV := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
define run_fuzzer
	mkdir -p $(BUILD)/fuzz/corpus-$(1) $(BUILD)/fuzz/artifacts
	$(FUZZ_ENV) $(BUILD)/fuzz/fuzz_$(1) -max_total_time=$(2) -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=3 -print_final_stats=1 -dict=tests/fuzz/$(1).dict \
		-artifact_prefix=$(BUILD)/fuzz/artifacts/$(1)- $(BUILD)/fuzz/corpus-$(1) $(3)
endef

fuzz: fuzz-build
	$(FUZZ_ENV) SLUICE_DIFF_SEED=$(FUZZ_SEED) SLUICE_DIFF_PACKETS=$(FUZZ_PACKETS) \
		SLUICE_DIFF_OUT=$(BUILD)/fuzz/diff-failures $(BUILD)/asan/difftest
	$(call run_fuzzer,config,$(FUZZ_TIME),tests/config/valid tests/config/invalid)
	$(call run_fuzzer,prefix,$(FUZZ_TIME),tests/fuzz/corpus/prefix tests/config/valid/lists)
	$(call run_fuzzer,cli,$(FUZZ_TIME),tests/fuzz/corpus/cli)

fuzz-smoke: fuzz-build
	tests/fuzz/test_fuzz.sh

.PHONY: fuzz fuzz-build fuzz-deps fuzz-smoke
