# ATA mediators (drivers/ata/ shared decoder and crypto glue, drivers/ide/): the pure command decoder, the per-disk crypto glue and the
# IDE shadow logic, host-tested. Included by the top-level Makefile before mk/unit.mk;
# everything here is prefixed ATA_ or ata-. The monitor build picks up drivers/ata/*.cpp
# through MON_CXX_SRCS.
#
#   make ata-unit    run only this subsystem's tests of build/unit/unit_tests

UNIT_BUILD ?= build/unit

# Sources that build on the host: the shared decoder and crypto glue, and the IDE files except
# the one that touches ports and the monitor's registries (ide_install.cpp). The AHCI
# mediator's files are listed by its own fragment.
ATA_PURE_SRCS := drivers/ata/ata_command.cpp drivers/ata/ata_command_atapi.cpp drivers/ata/sector_crypt.cpp \
                 $(filter-out %_install.cpp,$(wildcard drivers/ide/ide_*.cpp))
ATA_TEST_SRCS := $(wildcard tests/unit/test_ata_*.cpp tests/unit/test_ide_*.cpp)

UNIT_CORE_SRCS += $(ATA_PURE_SRCS)
# Strict warnings, plus the crypto headers (sector_crypt links crypto/ and mbedTLS, which
# mk/crypto.mk already adds to the unit binary). Not in UNIT_STRICT_SRCS: its assignment
# would replace these flags.
ATA_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(ATA_PURE_SRCS) $(ATA_TEST_SRCS))
$(ATA_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC)
$(ATA_UNIT_OBJS): | $(DEPS_STAMP)

# ---- this subsystem's tests alone ---------------------------------------------------------
.PHONY: ata-unit
ata-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Ata*:SectorCrypt*:Ide*'

# The ATAPI allow-list's fuzzer (tests/unit/fuzz_atapi.cpp; the rule is mk/unit.mk's).
UNIT_FUZZ_WITH_atapi := drivers/ata/ata_command_atapi.cpp
