# thinvisor: top-level build. `make run` and `make test` work from a fresh clone on Debian 12.
SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD := build
TP := third_party
NEWLIB := $(TP)/newlib/install/x86_64-elf
GCC_INC := $(shell gcc -print-file-name=include)
DEPS_STAMP := $(TP)/.deps-ok

# The monitor: freestanding C++20, no exceptions/RTTI, no SSE (the guest's FPU/SSE state
# stays untouched in the registers), kernel code model at -2 GiB.
MON_FLAGS := -O2 -g -ffreestanding -mno-red-zone -mgeneral-regs-only -mcmodel=kernel -fno-pic -fno-pie \
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
  -nostdinc -isystem $(GCC_INC) -isystem $(NEWLIB)/include -I. -Iinclude
MON_CXXFLAGS := -std=c++20 $(MON_FLAGS) -fno-exceptions -fno-rtti -fno-use-cxa-atexit -fno-threadsafe-statics \
  -Wall -Wextra -Werror -Wold-style-cast -Wzero-as-null-pointer-constant -Wnon-virtual-dtor
MON_ASFLAGS := $(MON_FLAGS) -D__ASSEMBLY__

MON_CXX_SRCS := $(wildcard core/*.cpp storage/*.cpp core/handlers/*.cpp core/arch/x86/*.cpp core/arch/x86/svm/*.cpp core/arch/x86/vmx/*.cpp core/insn/*.cpp core/device/*.cpp drivers/pci/*.cpp drivers/ata/*.cpp drivers/ide/*.cpp drivers/ahci/*.cpp drivers/aoe_disk/*.cpp drivers/nic/*.cpp drivers/iommu/*.cpp switch/*.cpp net/*.cpp aoe/*.cpp lib/*.cpp)
MON_ASM_SRCS := $(wildcard boot/*.S core/arch/x86/*.S core/arch/x86/svm/*.S core/arch/x86/vmx/*.S)
MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(MON_CXX_SRCS)) $(patsubst %.S,$(BUILD)/mon/%.o,$(MON_ASM_SRCS))

UNIT_CORE_SRCS += core/arch/x86/svm/svm_exit_decode.cpp core/handlers/cpuid_filter.cpp core/handlers/cpu_handlers.cpp core/exit_stats.cpp core/config.cpp core/config_values.cpp core/config_pci.cpp core/scancode.cpp
# Subsystem fragments (mk/<subsystem>.mk) add their own targets and host-tested sources.
include $(filter-out mk/unit.mk,$(wildcard mk/*.mk))
include mk/unit.mk
unit: | $(DEPS_STAMP)

.PHONY: all deps guest run test bench unit clean distclean check-image

all: $(BUILD)/thinvisor.elf

deps: $(DEPS_STAMP)
$(DEPS_STAMP): mk/deps.sh mk/packages.txt $(wildcard lib/config/*.h lib/config/*/*.h lib/config/*/*/*.h)
	bash mk/deps.sh
	@touch $@

$(BUILD)/mon/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CXX  $<"
	@g++ $(MON_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/mon/%.o: %.S | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  AS   $<"
	@gcc $(MON_ASFLAGS) -MMD -MP -c $< -o $@

# Libraries the monitor links: crypto/ (mk/crypto.mk), mbedTLS (its TLS client, then crypto and
# X.509), lwIP and newlib, in that order.
MON_LIBS := $(CRYPTO_MON_LIB) $(TP)/mbedtls/libmbedtls.a $(TP)/mbedtls/libmbedcrypto.a $(TP)/lwip/liblwip.a $(NEWLIB)/lib/libc.a

# The third-party archives are made by mk/deps.sh; naming them here relinks the monitor when a
# configuration change (lib/config/) rebuilds one of them.
MON_TP_LIBS := $(TP)/mbedtls/libmbedtls.a $(TP)/mbedtls/libmbedcrypto.a $(TP)/lwip/liblwip.a $(NEWLIB)/lib/libc.a
$(MON_TP_LIBS): $(DEPS_STAMP) ;

$(BUILD)/thinvisor.elf: $(MON_OBJS) $(CRYPTO_MON_LIB) $(MON_TP_LIBS) boot/linker.ld mk/check_image.py | $(DEPS_STAMP)
	ld -n -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T boot/linker.ld -o $@ $(MON_OBJS) --start-group $(MON_LIBS) --end-group
	python3 mk/check_image.py $@

-include $(MON_OBJS:.o=.d)

guest: $(DEPS_STAMP)
	bash tools/guest/build-guest.sh



# The demo: the guest's console is this terminal; the monitor's log goes to build/run/monitor.log.
run: all guest
	python3 tests/qemu/qemu_run.py --interactive --machine q35 --cpu max --mem 512M \
	  --monitor $(BUILD)/thinvisor.elf --disk $(BUILD)/guest/disk.img --script tests/qemu/guest/demo.sh \
	  --out $(BUILD)/run

# The build half of `make test` runs in parallel (serially it took 10 of CI's minutes on 2
# cores), after the third-party step, which many rules need but not all name (efi, guest).
JOBS ?= $(shell nproc)
.PHONY: test-build
test-build:
	+$(MAKE) --no-print-directory deps
	+$(MAKE) --no-print-directory -j$(JOBS) all guest unit $(TEST_DEPS)

test: test-build
	python3 tests/run_tests.py

# BEFORE=REF (a commit) also measures that commit's monitor in the same run, where a bench
# knows how (boot, ide, ahci, net_monitor): lines named ..._before (docs/bench.md).
bench: all guest
	$(if $(BEFORE),mk/bench_before.sh $(BEFORE) $(BUILD)/bench/before/thinvisor.elf)
	$(if $(BEFORE),TV_BENCH_BEFORE=$(BUILD)/bench/before/thinvisor.elf) python3 tests/bench/bench.py

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(TP)
