# The AHCI mediator (drivers/ahci/ahci_*): host unit tests of its pure parts. Included by the
# top-level Makefile before mk/unit.mk; everything here is prefixed AHCI_ or ahci-. The monitor
# build picks up drivers/ahci/*.cpp through MON_CXX_SRCS; ahci_install.cpp (PCI, MMIO hooks,
# monitor memory) is monitor-only. The shared decoder and crypto glue come from mk/ata.mk.
#
#   make ahci-unit   run only this mediator's tests of build/unit/unit_tests

UNIT_BUILD ?= build/unit

AHCI_PURE_SRCS := drivers/ahci/ahci_port.cpp drivers/ahci/ahci_issue.cpp drivers/ahci/ahci_takeover.cpp \
                  drivers/ahci/ahci_hba.cpp drivers/ahci/ahci_counts.cpp drivers/ahci/ahci_protect.cpp
AHCI_TEST_SRCS := $(wildcard tests/unit/test_ahci_*.cpp)

UNIT_CORE_SRCS += $(AHCI_PURE_SRCS)
# Strict warnings and the crypto headers (sector_crypt.hpp needs them), as mk/ata.mk does.
AHCI_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(AHCI_PURE_SRCS) $(AHCI_TEST_SRCS))
$(AHCI_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC)
$(AHCI_UNIT_OBJS): | $(DEPS_STAMP)

.PHONY: ahci-unit
ahci-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Ahci*'
