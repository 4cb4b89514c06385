# The monitor's network stack (net/): lwIP 2.1.3 with our port configuration
# (lib/config/netstack/). Included from the top-level Makefile before mk/unit.mk.
#
# The monitor links third_party/lwip/liblwip.a (built by mk/deps.sh). The host unit tests
# (tests/unit/test_net_*.cpp) link the same lwIP sources built here for the host with the
# same lwipopts.h, under ASan (lwIP's own code is not held to UBSan or our warnings).
#
#   make net-mon     compile net/*.cpp with the monitor's flags and check for static constructors

NET_LWIP_SRC := $(TP)/src/lwip/src
NET_LWIP_INC := -isystem lib/config/netstack -isystem $(NET_LWIP_SRC)/include
NET_LWIP_MON_INC := -isystem lib/config/netstack -isystem $(TP)/lwip/include

# Pure logic and the lwIP-based stack; net/monitor.cpp and net/lwip_port.cpp are the monitor's.
NET_PURE_SRCS := net/log_backlog.cpp net/syslog_format.cpp net/frame_check.cpp net/ring_replay.cpp net/http_message.cpp net/wall_time.cpp
NET_STACK_SRCS := net/netstack.cpp net/pinger.cpp
NET_TEST_SRCS := $(wildcard tests/unit/test_net_*.cpp)

UNIT_CORE_SRCS += $(NET_PURE_SRCS) $(NET_STACK_SRCS)
# The fake port inherits FramePort's receiver table (drivers/nic/frame_port.cpp); mk/nic.mk
# builds it for the host when present, and one object must not be linked twice.
ifeq ($(wildcard mk/nic.mk),)
UNIT_CORE_SRCS += drivers/nic/frame_port.cpp
endif
UNIT_STRICT_SRCS += $(NET_PURE_SRCS)

NET_UNIT_LWIP_OBJS_DIR := build/unit/lwip
# The lwIP files the monitor's IPv4 host needs (a subset of mk/deps.sh's LWIP_FILES).
NET_LWIP_FILES := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c \
    core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
    core/tcp_out.c core/timeouts.c core/udp.c core/ipv4/dhcp.c core/ipv4/etharp.c \
    core/ipv4/icmp.c core/ipv4/ip4_frag.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
    core/ipv4/autoip.c core/ipv4/igmp.c core/dns.c netif/ethernet.c
NET_UNIT_LWIP_OBJS := $(patsubst %.c,$(NET_UNIT_LWIP_OBJS_DIR)/%.o,$(NET_LWIP_FILES))

$(NET_UNIT_LWIP_OBJS): $(NET_UNIT_LWIP_OBJS_DIR)/%.o: $(NET_LWIP_SRC)/%.c $(wildcard lib/config/netstack/*.h lib/config/netstack/arch/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC   $< (host)"
	@gcc -std=gnu11 -g -O1 -fsanitize=address -I lib/config/netstack -I $(NET_LWIP_SRC)/include -c $< -o $@

# The unit binary's link rule takes $^: these objects join it.
build/unit/unit_tests: $(NET_UNIT_LWIP_OBJS)

NET_UNIT_OBJS := $(patsubst %.cpp,build/unit/%.o,$(NET_STACK_SRCS) $(NET_TEST_SRCS))
$(NET_UNIT_OBJS): UNIT_CXXFLAGS += $(NET_LWIP_INC)
$(NET_UNIT_OBJS): | $(DEPS_STAMP)

# The policy fetch's HTTP parser (docs/policies.md, "Distribution"): tests/unit/fuzz_http.cpp.
UNIT_FUZZ_WITH_http := net/http_message.cpp

NET_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(wildcard net/*.cpp))
$(NET_MON_OBJS): MON_CXXFLAGS += $(NET_LWIP_MON_INC) -Wconversion
# The policy fetch's TLS client (mbedTLS's SSL headers, the monitor's configuration).
$(BUILD)/mon/net/tls_client.o: MON_CXXFLAGS += -isystem $(TP)/mbedtls/include

.PHONY: net-mon
net-mon: $(NET_MON_OBJS)
	@for o in $^; do \
	  if objdump -h $$o | grep -Eq '\.(init_array|ctors)'; then echo "$$o: static constructor"; exit 1; fi; \
	done
TEST_DEPS += net-mon
