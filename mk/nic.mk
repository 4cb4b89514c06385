# NIC mediators (drivers/nic/) and the frame switch (switch/): the pure e1000 mediator, the
# switch and its policies, host-tested with a fake
# device (tests/unit/test_e1000_*.cpp). Included by the top-level Makefile before mk/unit.mk.
# The monitor build picks up drivers/nic/*.cpp through MON_CXX_SRCS.
#
#   make nic-unit    run only this subsystem's tests of build/unit/unit_tests

NIC_PURE_SRCS := drivers/nic/frame_port.cpp drivers/nic/e1000_mediator.cpp drivers/nic/e1000_device_rings.cpp \
                 drivers/nic/e1000_guest_rings.cpp drivers/nic/tx_checksum.cpp drivers/nic/tx_tso.cpp switch/frame_switch.cpp \
                 switch/mac_policy.cpp
NIC_TEST_SRCS := $(wildcard tests/unit/test_e1000_*.cpp tests/unit/test_frame_switch*.cpp)

UNIT_CORE_SRCS += $(NIC_PURE_SRCS)
UNIT_STRICT_SRCS += $(NIC_PURE_SRCS) $(NIC_TEST_SRCS)

.PHONY: nic-unit
nic-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='E1000*'

# --- libFuzzer: a hostile guest's register and descriptor writes against the mediator ---
#   make nic-fuzz      build/unit/fuzz_e1000 (clang)
#   make nic-fuzz-run  run it for NIC_FUZZ_SECONDS (default 60)
NIC_FUZZ := $(UNIT_BUILD)/fuzz_e1000
NIC_FUZZ_SECONDS ?= 60
.PHONY: nic-fuzz nic-fuzz-run
nic-fuzz: $(NIC_FUZZ)
fuzz: $(NIC_FUZZ)

$(NIC_FUZZ): tests/unit/fuzz_e1000.cpp tests/unit/test_e1000_fake.hpp $(NIC_PURE_SRCS) $(wildcard drivers/nic/*.hpp switch/*.hpp)
	@mkdir -p $(dir $@)
	clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I. -o $@ tests/unit/fuzz_e1000.cpp $(NIC_PURE_SRCS)

nic-fuzz-run: $(NIC_FUZZ)
	@mkdir -p $(UNIT_BUILD)/fuzz_e1000_corpus
	$(NIC_FUZZ) -max_total_time=$(NIC_FUZZ_SECONDS) -print_final_stats=1 $(UNIT_BUILD)/fuzz_e1000_corpus
