# File-protection policies (policies/, issue 18): the format, its parser and verifier (monitor
# and host), the builder and signer (host only), tools/thinvisor-policy, the unit tests and
# fuzz_policy. Included by the top-level Makefile before mk/unit.mk; everything here is
# prefixed POLICY_ or policy-.
#
#   make policy-tool    build/tools/thinvisor-policy (host tool, libext2fs, host mbedTLS)
#   make policy-unit    run only this subsystem's unit tests

UNIT_BUILD ?= build/unit

POLICY_SRCS := $(wildcard policies/*.cpp)
POLICY_MON_SRCS := policies/policy_format.cpp policies/policy_verify.cpp   # policy_build is host only
POLICY_TESTS := $(wildcard tests/unit/test_policy*.cpp)

# ---- mbedTLS for the host: SHA-256, ECDSA P-256 and key parsing/writing, self-contained -----
POLICY_MBEDTLS_NAMES := ecdsa pk pk_wrap pkparse pkwrite asn1write asn1parse ecp ecp_curves bignum hmac_drbg \
                        md sha1 sha256 sha512 pem base64 oid platform_util constant_time cipher cipher_wrap \
                        aes aesni gcm rsa rsa_internal pkcs5
POLICY_MBEDTLS_OBJS := $(patsubst %,$(BUILD)/policy-host/mbedtls/%.o,$(POLICY_MBEDTLS_NAMES))
POLICY_MBEDTLS_LIB := $(BUILD)/policy-host/libmbed-policy.a
$(POLICY_MBEDTLS_OBJS): $(BUILD)/policy-host/mbedtls/%.o: $(TP)/src/mbedtls/library/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC   $< (host)"
	@gcc -O2 -g -Wall -I$(TP)/mbedtls/include -I$(TP)/src/mbedtls/library -c $< -o $@
$(POLICY_MBEDTLS_LIB): $(POLICY_MBEDTLS_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- unit tests ------------------------------------------------------------------------------
UNIT_CORE_SRCS += $(POLICY_SRCS)
POLICY_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(POLICY_SRCS) $(POLICY_TESTS))
$(POLICY_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC)
$(POLICY_UNIT_OBJS): | $(DEPS_STAMP)
$(UNIT_BUILD)/unit_tests: $(POLICY_MBEDTLS_LIB)

.PHONY: policy-unit policy-tool
policy-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Policy*:StorageWriteRule*'

# ---- the monitor -----------------------------------------------------------------------------
POLICY_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(POLICY_MON_SRCS))
$(POLICY_MON_OBJS): MON_CXXFLAGS += $(CRYPTO_INC) -Wconversion
MON_OBJS += $(POLICY_MON_OBJS)

# ---- tools/thinvisor-policy ------------------------------------------------------------------
POLICY_TOOL := $(BUILD)/tools/thinvisor-policy
POLICY_TOOL_SRCS := $(wildcard tools/thinvisor-policy/*.cpp) $(POLICY_SRCS) crypto/key_policy.cpp
POLICY_TOOL_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I. \
                        -isystem $(TP)/mbedtls/include
$(POLICY_TOOL): $(POLICY_TOOL_SRCS) $(wildcard tools/thinvisor-policy/*.hpp policies/*.hpp) $(POLICY_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	g++ $(POLICY_TOOL_CXXFLAGS) -o $@ $(POLICY_TOOL_SRCS) $(POLICY_MBEDTLS_LIB) -lext2fs -lcom_err
policy-tool: $(POLICY_TOOL)
all: $(POLICY_TOOL)
TEST_DEPS += policy-tool

# ---- libFuzzer: the parser (no cryptography: the signature check comes after it) -------------
UNIT_FUZZ_WITH_policy := policies/policy_format.cpp crypto/key_policy.cpp
$(UNIT_BUILD)/fuzz_policy: $(wildcard policies/*.hpp)
