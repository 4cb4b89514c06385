# The VPN tunnel in the monitor (vpn/monitor/, the trap layer): it links ESP and the SA database
# (vpn/*.cpp), the IKEv2 initiator (vpn/ike/) and its own glue into the monitor, against the
# monitor's mbedTLS (DH, ECDH, GCM) and lwIP. Included by the top-level Makefile after
# mk/vpn.mk and mk/vpn_guest.mk, before mk/unit.mk.
#
# vpn/monitor/ is monitor-only (lwIP, the clock, the log) but for tunnel_pure.cpp: mk/vpn.mk's
# wildcard vpn/*/*.cpp would put all of it in the unit tests, so the rest is taken out of them
# here; the install glue
# (vpn/guest/vpn_install.cpp) links a fake vpn_tunnel_install there (tests/unit/mocks).

VPN_MONITOR_GLUE := $(wildcard vpn/monitor/*.cpp)
VPN_MONITOR_PURE := vpn/monitor/tunnel_pure.cpp  # host-tested: tests/unit/test_vpn_tunnel_pure.cpp
UNIT_CORE_SRCS := $(filter-out $(filter-out $(VPN_MONITOR_PURE),$(VPN_MONITOR_GLUE)),$(UNIT_CORE_SRCS))

VPN_MONITOR_SRCS := $(filter-out $(MON_CXX_SRCS),$(wildcard vpn/*.cpp vpn/ike/*.cpp vpn/failover/*.cpp) $(VPN_MONITOR_GLUE))
MON_CXX_SRCS += $(VPN_MONITOR_SRCS)
MON_OBJS += $(patsubst %.cpp,$(BUILD)/mon/%.o,$(VPN_MONITOR_SRCS))
# lwIP's headers for the glue (net/ gets them the same way in mk/net.mk)
$(patsubst %.cpp,$(BUILD)/mon/%.o,$(VPN_MONITOR_GLUE)): MON_CXXFLAGS += $(CRYPTO_INC)
