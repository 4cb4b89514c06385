# NIC mediators (drivers/nic/): the pure e1000 mediator and FramePort, host-tested with a fake
# device (tests/unit/test_e1000_*.cpp). Included by the top-level Makefile before mk/unit.mk.
# The monitor build picks up drivers/nic/*.cpp through MON_CXX_SRCS.
#
#   make nic-unit    run only this subsystem's tests of build/unit/unit_tests

NIC_PURE_SRCS := drivers/nic/frame_port.cpp drivers/nic/e1000_mediator.cpp drivers/nic/e1000_tx.cpp \
                 drivers/nic/e1000_rx.cpp
NIC_TEST_SRCS := $(wildcard tests/unit/test_e1000_*.cpp)

UNIT_CORE_SRCS += $(NIC_PURE_SRCS)
UNIT_STRICT_SRCS += $(NIC_PURE_SRCS) $(NIC_TEST_SRCS)

.PHONY: nic-unit
nic-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='E1000*'
