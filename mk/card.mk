# Smart-card unlock (docs/smartcard.md): card keyslots and OAEP (crypto/rsa_oaep.*,
# crypto/keyslot_card*), the CCID/APDU/CAC layers (card/), the boot-time xHCI host driver
# (drivers/usb/host/) and tools/thinvisor-enroll. Included by the top-level Makefile before
# mk/unit.mk; everything here is prefixed CARD_ or card-.
#
#   make enroll-tool   build/tools/thinvisor-enroll (host tool, host mbedTLS)
#   make card-unit     run only this subsystem's unit tests

UNIT_BUILD ?= build/unit

# In the monitor and the unit tests. keyslot_card_add.cpp needs RSA's public operation and
# is host-only (the enroll tool and the tests).
CARD_CRYPTO_SRCS := crypto/rsa_oaep.cpp crypto/keyslot_card.cpp
CARD_HOST_CRYPTO_SRCS := crypto/keyslot_card_add.cpp
CARD_PURE_SRCS := $(wildcard card/*.cpp)
CARD_MON_SRCS := $(CARD_CRYPTO_SRCS) $(CARD_PURE_SRCS) $(wildcard drivers/usb/host/*.cpp)
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
