# MMIO and PCI interposition (core/guest_paging, core/insn/, core/mmio_hooks, drivers/pci/):
# host-tested sources, a libFuzzer target for the instruction decoder and executor, and a
# stand-alone test binary of just these tests. Included by the top-level Makefile before
# mk/unit.mk; everything here is prefixed MMIO_ or mmio-.
#
#   make mmio-unit       build/unit/mmio_tests (only this subsystem's tests) and run it
#   make mmio-fuzz       build/unit/fuzz_insn (clang, libFuzzer)
#   make mmio-fuzz-run   run it for MMIO_FUZZ_SECONDS (default 60)

UNIT_BUILD ?= build/unit

MMIO_PURE_SRCS := core/guest_paging.cpp core/insn/decoder.cpp core/insn/alu.cpp core/insn/exec.cpp \
                  drivers/pci/pci_enum.cpp drivers/pci/config_router.cpp drivers/pci/bus_master.cpp drivers/pci/msi_guard.cpp \
                  core/arch/x86/host_paging.cpp
MMIO_TEST_SRCS := $(wildcard tests/unit/test_guest_paging.cpp tests/unit/test_insn_*.cpp \
                             tests/unit/test_pci_*.cpp tests/unit/test_mmio_*.cpp)

UNIT_CORE_SRCS += $(MMIO_PURE_SRCS)
UNIT_STRICT_SRCS += $(MMIO_PURE_SRCS) $(MMIO_TEST_SRCS)

# ---- a test binary of this subsystem alone (quick to rebuild, independent of the others) ----
MMIO_UNIT_BIN := $(UNIT_BUILD)/mmio_tests
MMIO_UNIT_OBJS = $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(MMIO_PURE_SRCS) $(MMIO_TEST_SRCS))

.PHONY: mmio-unit mmio-fuzz mmio-fuzz-run
mmio-unit: $(MMIO_UNIT_BIN)
	$(MMIO_UNIT_BIN)

$(MMIO_UNIT_BIN): $(MMIO_UNIT_OBJS)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -o $@ $^ $(UNIT_LDLIBS)

# ---- libFuzzer: random bytes in every mode through the decoder and then the executor ----
MMIO_FUZZ := $(UNIT_BUILD)/fuzz_insn
MMIO_FUZZ_SECONDS ?= 60
MMIO_FUZZ_SRCS := tests/unit/fuzz_insn.cpp core/insn/decoder.cpp core/insn/alu.cpp core/insn/exec.cpp

$(MMIO_FUZZ): $(MMIO_FUZZ_SRCS) $(wildcard core/insn/*.hpp) core/vcpu.hpp core/types.hpp tests/unit/fake_vcpu.hpp
	@mkdir -p $(dir $@)
	clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I. -o $@ $(MMIO_FUZZ_SRCS)

mmio-fuzz: $(MMIO_FUZZ)
fuzz: $(MMIO_FUZZ)

mmio-fuzz-run: $(MMIO_FUZZ)
	@mkdir -p $(UNIT_BUILD)/fuzz_insn_corpus
	$(MMIO_FUZZ) -max_total_time=$(MMIO_FUZZ_SECONDS) -print_final_stats=1 $(UNIT_BUILD)/fuzz_insn_corpus
