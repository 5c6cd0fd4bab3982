# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# latscope: see README.md. `make V=1` shows full commands.

.DELETE_ON_ERROR:
.SUFFIXES:

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    := build
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC       ?= cc
PKG_CONFIG ?= pkg-config
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# generated BPF objects and skeletons are kept: user objects depend on them
.SECONDARY: $(BPF_OBJS) $(SKELS)
BPF_HDRS  := $(wildcard bpf/*.h)

# pure logic, shared by the agent and the unit tests
LIB_SRCS  := user/util.c user/stats.c user/ktab.c user/ctrtab.c user/json.c user/log.c
APP_SRCS  := $(filter-out $(LIB_SRCS),$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
APP_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(APP_SRCS)) $(BUILD)/user/syscall_names.o
# everything but the front ends (main(), the TUI: they own the run loop of
# main.c): what the unit tests and test tools link against
AGENT_OBJS := $(filter-out $(BUILD)/user/main.o,$(APP_OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
WORKLOADS := $(patsubst tests/workloads/%.c,$(BUILD)/tests/%,$(wildcard tests/workloads/*.c))

LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS   := $(shell $(PKG_CONFIG) --libs libbpf libelf zlib 2>/dev/null || echo -lbpf -lelf -lz)
# serve (HTTP) and the interactive top (TUI)
UI_LIBS       := $(shell $(PKG_CONFIG) --libs libmicrohttpd ncursesw 2>/dev/null || echo -lmicrohttpd -lncursesw -ltinfo)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation \
	    -D_GNU_SOURCE -I$(BUILD) -Ibpf -iquote user $(LIBBPF_CFLAGS) \
	    -DLATSCOPE_VERSION='"$(VERSION)"'
LDLIBS   += $(LIBBPF_LIBS) $(UI_LIBS) -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ibpf -Wall -Werror \
	      -Wno-unused-function

.PHONY: all run test unit bench test-kernels install deb clean deps format check-format
.PHONY: fuzz fuzz-build asan asan-build sanitize-goals
all: $(BUILD)/latscope

deps:
	$(Q)scripts/deps.sh

bpf/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD) $(BUILD)/user $(BUILD)/tests $(BUILD)/unit:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) bpf/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# syscall names from the installed kernel headers, not typed by hand
$(BUILD)/user/syscall_names.c: scripts/gen-syscall-names.sh | $(BUILD)/user
	$(call msg,GEN,$@)
	$(Q)CC="$(CC)" scripts/gen-syscall-names.sh > $@

$(BUILD)/user/syscall_names.o: $(BUILD)/user/syscall_names.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) $(BPF_HDRS) $(SKELS) | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/latscope: $(APP_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_SRCS) $(AGENT_OBJS) $(LIB_OBJS) $(wildcard tests/unit/*.h) | $(BUILD)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(UNIT_SRCS) $(AGENT_OBJS) $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/workloads/%.c $(wildcard tests/workloads/*.h) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@ -lpthread -lm

# byte-exact JSON string escaper for the round-trip test (tests/unit/test_json_roundtrip.py)
$(BUILD)/tests/json_escape: tests/tools/json_escape.c $(BUILD)/user/json.o | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ -lm

# the real sinks over fixture rows, for the golden tests (tests/unit/test_golden.py)
$(BUILD)/tests/render_rows: tests/tools/render_rows.c $(AGENT_OBJS) $(LIB_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

TEST_BINS := $(BUILD)/unit_tests $(BUILD)/tests/json_escape $(BUILD)/tests/render_rows $(WORKLOADS)

unit: $(BUILD)/unit_tests
	$(Q)$(BUILD)/unit_tests

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/latscope $(ARGS)

# unit and end-to-end tests, including the kernel matrix (Debian 6.1 generic
# and RT under qemu, see tests/e2e/test_kernels.py)
test: deps
	$(Q)scripts/deps.sh --kernels
	$(Q)$(MAKE) --no-print-directory all $(TEST_BINS)
	$(Q)python3 tests/run.py

# a benchmark, not a test: prints figures and ratios, never gates CI
bench:
	$(Q)scripts/deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all $(TEST_BINS)
	$(Q)scripts/bench.sh

# the same binary on other kernels, under qemu
test-kernels:
	$(Q)scripts/deps.sh --kernels
	$(Q)$(MAKE) --no-print-directory all $(TEST_BINS)
	$(Q)scripts/kernel-matrix.sh

install: $(BUILD)/latscope
	install -D -m 0755 $(BUILD)/latscope $(DESTDIR)$(PREFIX)/sbin/latscope
	install -D -m 0644 scripts/latscope.8 $(DESTDIR)$(PREFIX)/share/man/man8/latscope.8
	install -D -m 0644 scripts/latscope.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/latscope
	sed 's#/usr/sbin/latscope#$(PREFIX)/sbin/latscope#' scripts/latscope.service > $(BUILD)/latscope.service
	install -D -m 0644 $(BUILD)/latscope.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/latscope.service

# a Debian package in build/deb/ (scripts/mkdeb.sh)
deb: $(BUILD)/latscope
	$(Q)scripts/mkdeb.sh $(VERSION)

# the kernel's style, see .clang-format (vmlinux.h is generated)
FORMAT_SRCS := $(filter-out bpf/vmlinux.h,$(wildcard bpf/*.c bpf/*.h)) user/*.c user/*.h 	       tests/unit/*.c tests/unit/*.h tests/tools/*.c tests/workloads/*.c tests/workloads/*.h tests/fuzz/*.c tests/fuzz/*.h

format:
	clang-format -i $(FORMAT_SRCS)

check-format:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

# --- fuzzing and sanitizers (tests/fuzz/, tests/e2e/test_sanitizers.py) ---
# Each is a recursive make of the rules above into its own build directory,
# with the sanitizer flags carried in CC (so that every compile and link
# rule, the workloads' included, gets them and CFLAGS keeps its additions).
# libFuzzer needs clang; -fno-sanitize-recover makes a UBSan finding abort,
# so libFuzzer and the tests see it as a crash. -Werror holds under clang:
# only CFLAGS' -Wno-format-truncation is unknown to clang-14.
FUZZ_CC      := clang -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -Wno-unknown-warning-option
ASAN_CC      := gcc -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
ASAN_GOALS   := $(BUILD)/asan/latscope $(BUILD)/asan/unit_tests \
		$(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(WORKLOADS))

ifneq ($(SANITIZE_BUILD),)
# what a sanitizer build was asked for, without "is up to date" for each
sanitize-goals: $(SANITIZE_GOALS) ; @:
endif
ifeq ($(SANITIZE_BUILD),fuzz)
# a libFuzzer target over the agent's objects (only inside the fuzz build)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h user/*.h) $(BPF_HDRS) $(AGENT_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/fuzz -fsanitize=fuzzer $< $(AGENT_OBJS) $(LIB_OBJS) -o $@ $(LDLIBS)
endif

fuzz-build:
	$(Q)$(MAKE) --no-print-directory SANITIZE_BUILD=fuzz BUILD=$(BUILD)/fuzz CC='$(FUZZ_CC)' \
		SANITIZE_GOALS='$(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))' sanitize-goals

# every target for FUZZ_SECONDS on a copy of its corpus; fails on any crash
fuzz: fuzz-build
	$(Q)python3 tests/fuzz/fuzz.py --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

asan-build:
	$(Q)$(MAKE) --no-print-directory SANITIZE_BUILD=asan BUILD=$(BUILD)/asan CC='$(ASAN_CC)' \
		SANITIZE_GOALS='$(ASAN_GOALS)' sanitize-goals

# the unit tests and an end-to-end smoke of the agent under ASan + UBSan
asan: asan-build
	$(Q)python3 tests/e2e/test_sanitizers.py asan
