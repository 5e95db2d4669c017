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
	python3 tcpdump curl wrk nftables

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

format:
	clang-format -i xdp/*.c xdp/*.h ctl/*.c ctl/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf $(BUILD)

.PHONY: all deps test unit demo format clean
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

bench: deps
	$(MAKE) all $(BUILD)/sluice-sink
	bench/bench.sh $(if $(SCENARIO),--scenario $(SCENARIO))

bench-smoke: all $(BUILD)/sluice-sink
	bench/bench.sh --smoke --out $(BENCH_OUT) $(if $(SCENARIO),--scenario $(SCENARIO))

.PHONY: bench bench-smoke
