# The AoE disk (drivers/aoe_disk/aoe_disk*): an emulated ATA disk on the primary IDE channel whose
# sectors live on an AoE target, and its INT 13h services. The pure parts are host-tested
# (tests/unit/test_aoe_disk_*.cpp, strict warnings through mk/aoe.mk's test_aoe_* pattern);
# aoe_disk_install.cpp is the monitor's trap layer, picked up by MON_CXX_SRCS.
#
#   make aoe-disk-unit   run only these tests of build/unit/unit_tests

AOE_DISK_SRCS := drivers/aoe_disk/aoe_disk.cpp drivers/aoe_disk/aoe_disk_block.cpp drivers/aoe_disk/aoe_disk_identify.cpp \
                 drivers/aoe_disk/aoe_disk_int13.cpp drivers/aoe_disk/aoe_disk_sealed.cpp

UNIT_CORE_SRCS += $(AOE_DISK_SRCS)
UNIT_STRICT_SRCS += $(AOE_DISK_SRCS)

.PHONY: aoe-disk-unit
aoe-disk-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='AoeDisk*'
