# Smart-card unlock (docs/smartcard.md): card keyslots and OAEP (crypto/rsa_oaep.*,
# crypto/keyslot_card*), the CCID/APDU/CAC layers (card/), the boot-time xHCI host driver
# (drivers/usb/host/) and tools/thinvisor-enroll. Read after mk/crypto.mk (whose variables it uses) and before
# mk/unit.mk; everything here is prefixed CARD_ or card-.
#
#   make enroll-tool   build/tools/thinvisor-enroll (host tool, host mbedTLS)
#   make card-unit     run only this subsystem's unit tests

UNIT_BUILD ?= build/unit

# In the monitor and the unit tests. keyslot_card_add.cpp needs RSA's public operation and
# is host-only (the enroll tool and the tests).
CARD_CRYPTO_SRCS := crypto/rsa_oaep.cpp crypto/keyslot_card.cpp
CARD_HOST_CRYPTO_SRCS := crypto/keyslot_card_add.cpp
CARD_PURE_SRCS := $(wildcard card/*.cpp) drivers/usb/host/usb_config.cpp drivers/usb/host/usb_enum.cpp \
                  drivers/usb/host/ehci_host_qh.cpp drivers/usb/host/uhci_host_td.cpp \
                  drivers/usb/host/xhci_host_slot.cpp drivers/usb/host/kept_reader.cpp
CARD_MON_SRCS := $(sort $(CARD_CRYPTO_SRCS) $(CARD_PURE_SRCS) $(wildcard drivers/usb/host/*.cpp))
MON_CXX_SRCS += $(CARD_MON_SRCS)
CARD_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(CARD_MON_SRCS))
MON_OBJS += $(CARD_MON_OBJS)
$(CARD_MON_OBJS): MON_CXXFLAGS += $(CRYPTO_INC) -Wconversion

# ---- unit tests ----------------------------------------------------------------------------
# tests/unit/test_keyslot_card.cpp is built by mk/crypto.mk's test_keyslot* rule.
CARD_TEST_SRCS := $(wildcard tests/unit/test_oaep*.cpp tests/unit/test_ccid*.cpp tests/unit/test_card*.cpp \
                             tests/unit/test_usb_host*.cpp)
UNIT_CORE_SRCS += $(CARD_CRYPTO_SRCS) $(CARD_HOST_CRYPTO_SRCS) $(CARD_PURE_SRCS)
CARD_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(CARD_CRYPTO_SRCS) $(CARD_HOST_CRYPTO_SRCS) \
                                                     $(CARD_PURE_SRCS) $(CARD_TEST_SRCS))
$(CARD_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC)
$(CARD_UNIT_OBJS): | $(DEPS_STAMP)

.PHONY: card-unit
card-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Oaep*:KeyslotCard*:Ccid*:Apdu*:Cac*:Card*:UsbHost*'

# ---- tools/thinvisor-enroll ------------------------------------------------------------------
# Host mbedTLS with X.509 and RSA (and what the keyslots' GCM and PBKDF2 need), built here so
# the tool does not depend on another subsystem's list; PKCS#11 through p11-kit's header
# (libp11-kit-dev), modules loaded with dlopen.
CARD_HOST_BUILD := $(BUILD)/card-host
CARD_MBEDTLS_NAMES := aes aesni asn1parse asn1write base64 bignum cipher cipher_wrap constant_time ecdsa ecp \
                      ecp_curves gcm hmac_drbg md oid pem pk pk_wrap pkcs5 pkparse platform_util rsa \
                      rsa_internal sha1 sha256 sha512 x509 x509_crt
CARD_MBEDTLS_OBJS := $(patsubst %,$(CARD_HOST_BUILD)/mbedtls/%.o,$(CARD_MBEDTLS_NAMES))
CARD_MBEDTLS_LIB := $(CARD_HOST_BUILD)/libmbed-card.a
$(CARD_MBEDTLS_OBJS): $(CARD_HOST_BUILD)/mbedtls/%.o: $(TP)/src/mbedtls/library/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC   $< (host)"
	@gcc -O2 -g -Wall -I$(TP)/mbedtls/include -I$(TP)/src/mbedtls/library -c $< -o $@
$(CARD_MBEDTLS_LIB): $(CARD_MBEDTLS_OBJS)
	@rm -f $@
	ar rcs $@ $^

CARD_TOOL := $(BUILD)/tools/thinvisor-enroll
CARD_TOOL_SRCS := $(wildcard tools/thinvisor-enroll/*.cpp) $(CARD_CRYPTO_SRCS) $(CARD_HOST_CRYPTO_SRCS)
CARD_TOOL_OBJS := $(patsubst %.cpp,$(CARD_HOST_BUILD)/%.o,$(CARD_TOOL_SRCS))
# thinvisor-disk's keyslot-file, passphrase and file helpers, shared rather than repeated.
CARD_TOOL_DISK_OBJS := $(patsubst %,$(CRYPTO_HOST_BUILD)/tools/thinvisor-disk/%.o,keyfile io)

$(CARD_TOOL_OBJS): $(CARD_HOST_BUILD)/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CXX  $< (host)"
	@$(CRYPTO_HOST_CXX) $(CRYPTO_HOST_CXXFLAGS) -isystem /usr/include/p11-kit-1 -MMD -MP -c $< -o $@

$(CARD_TOOL): $(CARD_TOOL_OBJS) $(CARD_TOOL_DISK_OBJS) $(CRYPTO_HOST_OBJS) $(CARD_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	$(CRYPTO_HOST_CXX) -o $@ $^ -ldl

-include $(CARD_TOOL_OBJS:.o=.d)

.PHONY: enroll-tool
enroll-tool: $(CARD_TOOL)
TEST_DEPS += enroll-tool

# ---- libFuzzer: CCID answers, descriptors, ATRs, CAC buffers and whole exchanges -------------
UNIT_FUZZ_WITH_ccid := card/ccid.cpp card/apdu.cpp card/cac.cpp card/ccid_reader.cpp card/t1.cpp crypto/secure_zero.cpp
$(UNIT_BUILD)/fuzz_ccid: $(wildcard card/*.hpp)
