# The storage pipeline (storage/): disk identities, the key table and volumes, host-tested.
# Included by the top-level Makefile before mk/unit.mk; everything here is prefixed STORAGE_
# or storage-. The monitor build picks up storage/*.cpp through MON_CXX_SRCS.
#
#   make storage-unit    run only this subsystem's tests of build/unit/unit_tests

UNIT_BUILD ?= build/unit

# Everything but the monitor's loaders of the boot keys (core/disk_keys, thinvisor.conf) and
# of the boot policy.
STORAGE_PURE_SRCS := $(filter-out storage/boot_keys.cpp storage/policy_boot.cpp,$(wildcard storage/*.cpp))
STORAGE_TEST_SRCS := $(wildcard tests/unit/test_storage_*.cpp)

UNIT_CORE_SRCS += $(STORAGE_PURE_SRCS)
# Strict warnings plus the crypto headers (the key table keys crypto::Xts). Not in
# UNIT_STRICT_SRCS: its assignment would replace these flags.
STORAGE_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(STORAGE_PURE_SRCS) $(STORAGE_TEST_SRCS))
$(STORAGE_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC)
$(STORAGE_UNIT_OBJS): | $(DEPS_STAMP)

.PHONY: storage-unit
storage-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Storage*:SectorCrypt*:KeyPolicy*:FpuGuard*'
