# The VPN (vpn/): ESP and the SA database (vpn/*.cpp), IKEv2 (vpn/ike/), the guest-facing side
# (vpn/guest/). Pure C++: built for the host (unit tests, fuzzers, benchmark) and compiled
# freestanding with the monitor's flags, though the monitor does not link it yet. Included by
# the top-level Makefile before mk/unit.mk; everything here is prefixed VPN_ or vpn-.
#
# New sources and tests need no edit here: vpn/**.cpp and tests/unit/test_{esp,gcm,ike,vpn}*.cpp
# are picked up by wildcard.
#
#   make vpn-mon       vpn/ compiled with the monitor's flags, checked for static constructors
#   make gcm-bench     build/tools/gcm_bench (tests/bench/gcm_bench.py runs it)
#   make esp-tool      build/tools/esp_tool (tests/suites/esp_interop.py runs it)

VPN_SRCS := $(wildcard vpn/*.cpp vpn/*/*.cpp)
VPN_TESTS := $(wildcard tests/unit/test_esp*.cpp tests/unit/test_gcm*.cpp tests/unit/test_ike*.cpp \
                        tests/unit/test_vpn*.cpp)

# ---- unit tests (mk/unit.mk builds and links them, with crypto/ and the host mbedTLS) -------
UNIT_CORE_SRCS += $(VPN_SRCS)
VPN_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(VPN_SRCS) $(VPN_TESTS))
$(VPN_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC)
$(VPN_UNIT_OBJS): | $(DEPS_STAMP)

# ---- freestanding build check --------------------------------------------------------------
VPN_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(VPN_SRCS))
$(VPN_MON_OBJS): MON_CXXFLAGS += $(CRYPTO_INC) -Wconversion

.PHONY: vpn-mon
vpn-mon: $(VPN_MON_OBJS)
	@for o in $^; do \
	  if objdump -h $$o | grep -Eq '\.(init_array|ctors)'; then echo "$$o: static constructor"; exit 1; fi; \
	  if objdump -d $$o | grep -Eq '%[xyz]mm[0-9]'; then echo "$$o: uses SSE registers"; exit 1; fi; \
	done
all: vpn-mon $(CRYPTO_MON_LIB)
TEST_DEPS += vpn-mon

# ---- benchmark: ESP AES-GCM on the host, -O2 (tests/bench/gcm_bench.py runs it) -------------
VPN_HOST_SRCS := $(wildcard vpn/*.cpp)
VPN_HOST_OBJS := $(patsubst %.cpp,$(CRYPTO_HOST_BUILD)/%.o,$(VPN_HOST_SRCS))
VPN_BENCH := $(BUILD)/tools/gcm_bench
VPN_BENCH_OBJ := $(CRYPTO_HOST_BUILD)/tests/bench/gcm_bench.o
VPN_ESP_TOOL := $(BUILD)/tools/esp_tool
VPN_ESP_TOOL_OBJ := $(CRYPTO_HOST_BUILD)/tests/interop/esp_tool.o

$(VPN_HOST_OBJS) $(VPN_BENCH_OBJ) $(VPN_ESP_TOOL_OBJ): $(CRYPTO_HOST_BUILD)/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CXX  $< (host)"
	@$(CRYPTO_HOST_CXX) $(CRYPTO_HOST_CXXFLAGS) -MMD -MP -c $< -o $@

$(VPN_BENCH): $(VPN_BENCH_OBJ) $(VPN_HOST_OBJS) $(CRYPTO_HOST_OBJS) $(CRYPTO_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	$(CRYPTO_HOST_CXX) -o $@ $^ $(CRYPTO_BENCH_LIBS)

# The host peer of tests/suites/esp_interop.py (ESP against Python's `cryptography`).
$(VPN_ESP_TOOL): $(VPN_ESP_TOOL_OBJ) $(VPN_HOST_OBJS) $(CRYPTO_HOST_OBJS) $(CRYPTO_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	$(CRYPTO_HOST_CXX) -o $@ $^

.PHONY: gcm-bench esp-tool
gcm-bench: $(VPN_BENCH)
esp-tool: $(VPN_ESP_TOOL)
TEST_DEPS += esp-tool

-include $(VPN_HOST_OBJS:.o=.d) $(VPN_BENCH_OBJ:.o=.d) $(VPN_ESP_TOOL_OBJ:.o=.d)

# ---- libFuzzer: the ESP open path (tests/unit/fuzz_esp.cpp; mk/unit.mk builds it) ----------
UNIT_FUZZ_WITH_esp := $(wildcard vpn/*.cpp) $(CRYPTO_SRCS)
UNIT_FUZZ_EXTRA_esp = $(CRYPTO_INC) $(CRYPTO_SSE_ISA)
UNIT_FUZZ_LIBS_esp = $(CRYPTO_MBEDTLS_LIB)
