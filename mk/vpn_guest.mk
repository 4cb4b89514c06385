# The VPN's guest side (vpn/guest/): the copy-out forwarding policy, its DHCP server, ARP
# and packet-size handling, host-tested (tests/unit/test_vpn_guest_*.cpp) and fuzzed
# (tests/unit/fuzz_vpn_guest.cpp). Included by the top-level Makefile before mk/unit.mk.
#
#   make vpn-guest-unit   run only these tests of build/unit/unit_tests

# vpn_install.cpp is the monitor's glue (config, log, counters): host-built only against the
# fakes of tests/unit/mocks (as drivers/nic/e1000_install.cpp, which calls it), never fuzzed.
VPN_GUEST_SRCS := $(filter-out vpn/guest/vpn_install.cpp,$(wildcard vpn/guest/*.cpp))
VPN_GUEST_TEST_SRCS := $(wildcard tests/unit/test_vpn_guest_*.cpp)

# mk/vpn.mk (read first) already adds vpn/*/*.cpp to the host build; add only what it did not.
VPN_GUEST_UNIT_SRCS := $(filter-out $(UNIT_CORE_SRCS),$(VPN_GUEST_SRCS) vpn/guest/vpn_install.cpp)
UNIT_CORE_SRCS += $(VPN_GUEST_UNIT_SRCS) core/config_vpn.cpp
UNIT_STRICT_SRCS += $(VPN_GUEST_SRCS) $(VPN_GUEST_TEST_SRCS) core/config_vpn.cpp vpn/guest/vpn_install.cpp

# The monitor: the same sources, unless another fragment already added vpn/ recursively.
VPN_GUEST_MON_SRCS := $(filter-out $(MON_CXX_SRCS),$(VPN_GUEST_SRCS) vpn/guest/vpn_install.cpp)
MON_CXX_SRCS += $(VPN_GUEST_MON_SRCS)
MON_OBJS += $(patsubst %.cpp,$(BUILD)/mon/%.o,$(VPN_GUEST_MON_SRCS))

UNIT_FUZZ_WITH_vpn_guest := $(VPN_GUEST_SRCS) switch/frame_switch.cpp switch/mac_policy.cpp drivers/nic/frame_port.cpp
$(UNIT_BUILD)/fuzz_vpn_guest: $(wildcard vpn/guest/*.hpp switch/*.hpp)

.PHONY: vpn-guest-unit
vpn-guest-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='VpnGuest*'
