# Host unit tests (GoogleTest) and fuzzers for the portable core modules.
# Included from the top-level Makefile; everything here is prefixed UNIT_ or unit-/fuzz.
#
#   make unit        build build/unit/unit_tests
#   make unit-run    build and run it
#   make fuzz        build every libFuzzer harness and run each (UNIT_FUZZ_RUNS, UNIT_FUZZ_SECONDS)
#   make unit-clean

UNIT_BUILD ?= build/unit
UNIT_CXX ?= g++
UNIT_CXXFLAGS ?= -std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -Wall -Wextra -Werror -I.
UNIT_LDLIBS ?= -lgtest -lgtest_main -pthread

# Core sources built for the host. Extend with += BEFORE including this file: the rules
# below expand the list when they are read.
UNIT_CORE_SRCS += core/memmap.cpp core/page_alloc.cpp core/log_ring.cpp core/nested_paging.cpp core/log_limit.cpp
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.cpp)
UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(UNIT_CORE_SRCS) $(UNIT_TEST_SRCS))
UNIT_BIN := $(UNIT_BUILD)/unit_tests

# Sources held to the stricter warnings the core modules promise (extend with +=).
UNIT_STRICT_FLAGS ?= -Wconversion -Wold-style-cast
UNIT_STRICT_SRCS += core/memmap.cpp core/page_alloc.cpp core/log_ring.cpp core/nested_paging.cpp \
                    tests/unit/test_memmap.cpp tests/unit/test_page_alloc.cpp \
                    tests/unit/test_log_ring.cpp tests/unit/test_nested_paging.cpp
$(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(UNIT_STRICT_SRCS)): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS)

.PHONY: unit unit-run unit-clean fuzz fuzz-run

unit: $(UNIT_BIN)

unit-run: $(UNIT_BIN)
	$(UNIT_BIN)

$(UNIT_BIN): $(UNIT_OBJS)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -o $@ $^ $(UNIT_LDLIBS)

# A static pattern rule, so it cannot compete with the monitor's own %.o rules.
$(UNIT_OBJS): $(UNIT_BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) $(UNIT_EXTRA_FLAGS) -MMD -MP -c $< -o $@

-include $(UNIT_OBJS:.o=.d)

# ---- libFuzzer harnesses: tests/unit/fuzz_NAME.cpp -> build/unit/fuzz_NAME ------------------
# libFuzzer needs clang; ASan and UBSan are on in every harness. Each harness has a committed
# seed corpus in tests/unit/corpus/NAME/. tests/unit/run_fuzzers.py runs them: `make fuzz`
# up to UNIT_FUZZ_RUNS or UNIT_FUZZ_SECONDS each (corpus kept in build/fuzz/NAME/), `make test` for a
# few seconds each on the seeds alone (one test `fuzz/NAME` per harness, a crash fails it).
#
#   make fuzz-build   build every harness (part of `make test`'s build)
#   make fuzz         build, then run each for UNIT_FUZZ_RUNS executions or UNIT_FUZZ_SECONDS, print the counts
UNIT_FUZZ_CXX ?= clang++
UNIT_FUZZ_CC ?= clang
UNIT_FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
UNIT_FUZZ_CXXFLAGS ?= -std=c++20 -g -O1 $(UNIT_FUZZ_SAN) -Wall -Wextra -Werror $(UNIT_STRICT_FLAGS) -I. -Iinclude \
                      -fsanitize-coverage-ignorelist=tests/unit/fuzz_nocov.txt
UNIT_FUZZ_CFLAGS ?= -std=gnu11 -g -O1 $(subst fuzzer,fuzzer-no-link,$(UNIT_FUZZ_SAN)) -Wall -Wextra -Werror \
                    -Wconversion -Iinclude
# Each harness stops at UNIT_FUZZ_RUNS executions or after UNIT_FUZZ_SECONDS, whichever is
# first: long enough for 10^6 executions of the slowest harness (fuzz_aoe, about 450/s on
# one core of CI's kind); most reach 10^6 in a minute or two.
UNIT_FUZZ_SECONDS ?= 2400
UNIT_FUZZ_RUNS ?= 1000000
UNIT_FUZZ_NAMES := $(patsubst tests/unit/fuzz_%.cpp,%,$(wildcard tests/unit/fuzz_*.cpp))
UNIT_FUZZ_BINS := $(addprefix $(UNIT_BUILD)/fuzz_,$(UNIT_FUZZ_NAMES))

# Harnesses built here: the code under test for each (aoe, e1000, insn and keyslot have
# their rules in their subsystem's fragment).
UNIT_FUZZ_WITH_memmap := core/memmap.cpp
UNIT_FUZZ_WITH_config := core/config.cpp core/config_values.cpp core/config_vpn.cpp core/config_pci.cpp core/config_usb.cpp net/http_message.cpp
UNIT_FUZZ_WITH_loader_conf := boot/efi/loader_conf.c
UNIT_FUZZ_WITH_elf_image := boot/efi/elf_image.c
UNIT_FUZZ_WITH_ide_prd := drivers/ide/ide_shadow.cpp
UNIT_FUZZ_WITH_ahci := $(AHCI_PURE_SRCS) drivers/ata/ata_command.cpp \
                       drivers/ata/sector_crypt.cpp $(STORAGE_PURE_SRCS) $(CRYPTO_SRCS)
UNIT_FUZZ_EXTRA_ahci = $(CRYPTO_INC) $(CRYPTO_SSE_ISA)
UNIT_FUZZ_LIBS_ahci = $(CRYPTO_MBEDTLS_LIB)
UNIT_FUZZ_WITH_guest_paging := core/guest_paging.cpp
UNIT_FUZZ_WITH_acpi := core/acpi.cpp
UNIT_FUZZ_EXTRA_acpi = -include tests/unit/fuzz_acpi_shim.hpp
UNIT_FUZZ_WITH_hypercall := core/handlers/hypercall.cpp core/handlers/hypercall_policy.cpp core/exit_stats.cpp core/log_ring.cpp core/memmap.cpp
UNIT_FUZZ_HDRS := $(wildcard core/*.hpp core/*/*.hpp core/arch/x86/*.hpp drivers/ata/*.hpp drivers/ide/*.hpp drivers/ahci/*.hpp drivers/aoe_disk/*.hpp boot/efi/*.h \
                  crypto/*.hpp include/thinvisor/*.h tests/unit/*.hpp tests/unit/fuzz_nocov.txt)

define UNIT_FUZZ_RULE
$(UNIT_BUILD)/fuzz_$(1): tests/unit/fuzz_$(1).cpp $(filter %.cpp,$(UNIT_FUZZ_WITH_$(1))) \
        $(patsubst %.c,$(UNIT_BUILD)/fuzz-c/%.o,$(filter %.c,$(UNIT_FUZZ_WITH_$(1)))) $(UNIT_FUZZ_LIBS_$(1)) \
        $(UNIT_FUZZ_HDRS) | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(UNIT_FUZZ_CXX) $$(UNIT_FUZZ_CXXFLAGS) $$(UNIT_FUZZ_EXTRA_$(1)) -o $$@ $$(filter %.cpp %.o,$$^) $$(UNIT_FUZZ_LIBS_$(1))
endef
$(foreach n,$(filter-out aoe e1000 insn keyslot,$(UNIT_FUZZ_NAMES)),$(eval $(call UNIT_FUZZ_RULE,$(n))))

# The loader's C parsers, built as C with the fuzzer's instrumentation.
$(UNIT_BUILD)/fuzz-c/%.o: %.c
	@mkdir -p $(dir $@)
	$(UNIT_FUZZ_CC) $(UNIT_FUZZ_CFLAGS) -c $< -o $@

.PHONY: fuzz-build
fuzz-build: $(UNIT_FUZZ_BINS)
fuzz: fuzz-build
	python3 tests/unit/run_fuzzers.py --keep-corpus --seconds $(UNIT_FUZZ_SECONDS) --runs $(UNIT_FUZZ_RUNS)
fuzz-run: fuzz

# Without clang (not yet in mk/packages.txt) the build goes on, and make test reports each
# harness as not built rather than stopping before any test ran.
ifneq ($(shell command -v $(UNIT_FUZZ_CXX) 2>/dev/null),)
TEST_DEPS += fuzz-build
endif

unit-clean:
	rm -rf $(UNIT_BUILD)
