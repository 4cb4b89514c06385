# The IKEv2 initiator (vpn/ike/): host unit tests, a freestanding build with the monitor's
# flags, the host client that tests/suites/vpn_ike.py runs against strongSwan, and fuzz_ike.
# Included from the top-level Makefile before mk/unit.mk; everything here is prefixed IKE_/ike-.
#
#   make ike-tools   build/tools/ike-client (host program, real UDP sockets)
#   make ike-mon     compile vpn/ike/*.cpp with the monitor's flags (not linked yet)

IKE_SRCS := $(wildcard vpn/ike/*.cpp)
IKE_HDRS := $(wildcard vpn/ike/*.hpp) core/types.hpp crypto/random.hpp crypto/secure_zero.hpp
IKE_TEST_SRCS := $(wildcard tests/unit/test_ike_*.cpp)
UNIT_BUILD ?= build/unit

# mbedTLS for the host with DH and ECDH, and everything they pull in (the objects crypto/ also
# builds are repeated, so that link order between the two archives does not matter).
IKE_MBEDTLS_NAMES := dhm ecdh ecp ecp_curves bignum hmac_drbg ctr_drbg asn1parse pem base64 aes aesni \
                     md sha1 sha256 sha512 platform_util constant_time cipher cipher_wrap gcm oid
IKE_MBEDTLS_OBJS := $(patsubst %,$(BUILD)/ike-host/mbedtls/%.o,$(IKE_MBEDTLS_NAMES))
IKE_MBEDTLS_LIB := $(BUILD)/ike-host/libmbed-ike.a
$(IKE_MBEDTLS_OBJS): $(BUILD)/ike-host/mbedtls/%.o: $(TP)/src/mbedtls/library/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC   $< (host)"
	@gcc -O2 -g -Wall -I$(TP)/mbedtls/include -I$(TP)/src/mbedtls/library -c $< -o $@
$(IKE_MBEDTLS_LIB): $(IKE_MBEDTLS_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- unit tests: sources and tests with the strict warnings and the mbedTLS headers -------
UNIT_CORE_SRCS += $(IKE_SRCS)
IKE_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(IKE_SRCS) $(IKE_TEST_SRCS))
$(IKE_UNIT_OBJS): UNIT_EXTRA_FLAGS = -Wconversion -Wold-style-cast -isystem $(TP)/mbedtls/include
$(IKE_UNIT_OBJS): | $(DEPS_STAMP)
# After the crypto library in $^ order: libmbed-ike needs bignum/md from libmbedcrypto-host,
# so the linker sees ours first and crypto's after it (unit.mk links with $^).
$(UNIT_BUILD)/unit_tests: $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)

# ---- the host client ---------------------------------------------------------------------
IKE_TOOL := $(BUILD)/tools/ike-client
IKE_TOOL_SRCS := $(wildcard tests/vpn/*.cpp)
IKE_TOOL_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I. \
                     -isystem $(TP)/mbedtls/include

$(IKE_TOOL): $(IKE_SRCS) $(IKE_TOOL_SRCS) $(IKE_HDRS) $(wildcard tests/vpn/*.hpp) crypto/secure_zero.cpp \
             $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	g++ $(IKE_TOOL_CXXFLAGS) -o $@ $(IKE_SRCS) $(IKE_TOOL_SRCS) crypto/secure_zero.cpp \
	    $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)

.PHONY: ike-tools ike-mon
ike-tools: $(IKE_TOOL)
TEST_DEPS += ike-tools ike-mon

# ---- freestanding: the monitor's flags, and no static constructors ------------------------
IKE_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(IKE_SRCS))
$(IKE_MON_OBJS): MON_CXXFLAGS += -Wconversion -isystem $(TP)/mbedtls/include
ike-mon: $(IKE_MON_OBJS)
	@for o in $^; do \
	  if objdump -h $$o | grep -Eq '\.(init_array|ctors)'; then echo "$$o: static constructor"; exit 1; fi; \
	done

# ---- libFuzzer: arbitrary responder messages against the parser and decoders ---------------
UNIT_FUZZ_WITH_ike := $(IKE_SRCS) crypto/secure_zero.cpp
UNIT_FUZZ_EXTRA_ike = -isystem $(TP)/mbedtls/include
UNIT_FUZZ_LIBS_ike = $(IKE_MBEDTLS_LIB) $(CRYPTO_MBEDTLS_LIB)
