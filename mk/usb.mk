# USB mediation (drivers/usb/, docs/usb.md): the xHCI mediator's pure protocol logic (TRBs,
# the guest ring walk, TRB and context checks, the guest's event ring), host-tested in
# build/unit/unit_tests and fuzzed by fuzz_xhci. Included by the top-level Makefile before
# mk/unit.mk; everything here is prefixed USB_ or usb-. drivers/usb/*.cpp join the monitor's
# sources here (the Makefile reads this after its own lists, before its rules use them).
#
#   make usb-unit    run only this subsystem's tests of build/unit/unit_tests

UNIT_BUILD ?= build/unit

USB_MON_SRCS := $(wildcard drivers/usb/*.cpp)
MON_CXX_SRCS += $(USB_MON_SRCS)
MON_OBJS += $(patsubst %.cpp,$(BUILD)/mon/%.o,$(USB_MON_SRCS))

USB_PURE_SRCS := drivers/usb/xhci_trb.cpp drivers/usb/xhci_ring.cpp drivers/usb/xhci_check.cpp drivers/usb/xhci_shadow_ring.cpp \
                 drivers/usb/xhci_context.cpp drivers/usb/xhci_event.cpp drivers/usb/xhci_controller.cpp \
                 drivers/usb/xhci_op_regs.cpp drivers/usb/xhci_commands.cpp drivers/usb/xhci_transfer.cpp \
                 drivers/usb/xhci_events.cpp drivers/usb/xhci_ports.cpp drivers/usb/usb_bot.cpp \
                 drivers/usb/usb_identity.cpp drivers/usb/usb_slot_control.cpp drivers/usb/usb_slot_bot.cpp \
                 drivers/usb/usb_policy.cpp drivers/usb/usb_storage.cpp drivers/usb/usb_storage_desc.cpp
# The EHCI mediator's pure part (docs/usb.md, "EHCI"): the shadows of both schedules, the
# registers, the mass-storage path on qTDs.
USB_EHCI_SRCS := drivers/usb/ehci_schedule.cpp drivers/usb/ehci_qtd.cpp drivers/usb/ehci_controller.cpp drivers/usb/ehci_storage.cpp
USB_EHCI_SRCS += drivers/usb/ehci_periodic.cpp drivers/usb/ehci_periodic_pool.cpp drivers/usb/ehci_ports.cpp
USB_PURE_SRCS += $(USB_EHCI_SRCS)
USB_TEST_SRCS := $(wildcard tests/unit/test_xhci*.cpp tests/unit/test_usb*.cpp tests/unit/test_ehci*.cpp)

UNIT_CORE_SRCS += $(USB_PURE_SRCS) core/config_usb.cpp
UNIT_STRICT_SRCS += $(USB_PURE_SRCS) $(USB_TEST_SRCS)

.PHONY: usb-unit
usb-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Xhci*:Usb*:Ehci*'

# The fuzz harness (tests/unit/fuzz_xhci.cpp, seeds in tests/unit/corpus/xhci/): mk/unit.mk's
# rule builds it from these sources; the headers are named here since its list does not.
# The mass-storage path seals and unseals through the storage pipeline, so the pipeline and
# its crypto come along (as for fuzz_ahci); variables expanded late, since mk/storage.mk and
# the crypto lists may be read after this file.
UNIT_FUZZ_WITH_xhci = $(USB_PURE_SRCS) $(STORAGE_PURE_SRCS) $(CRYPTO_SRCS)
UNIT_FUZZ_EXTRA_xhci = $(CRYPTO_INC) $(CRYPTO_SSE_ISA)
UNIT_FUZZ_LIBS_xhci = $(CRYPTO_MBEDTLS_LIB)
$(UNIT_BUILD)/fuzz_xhci: $(wildcard drivers/usb/*.hpp)
# fuzz_ehci (tests/unit/fuzz_ehci.cpp, seeds in tests/unit/corpus/ehci/): the EHCI schedule walker
# and registers against a hostile guest's QHs and qTDs; the mass-storage path comes along, with
# the storage pipeline, as for fuzz_xhci.
UNIT_FUZZ_WITH_ehci = $(USB_PURE_SRCS) $(STORAGE_PURE_SRCS) $(CRYPTO_SRCS)
UNIT_FUZZ_EXTRA_ehci = $(CRYPTO_INC) $(CRYPTO_SSE_ISA)
UNIT_FUZZ_LIBS_ehci = $(CRYPTO_MBEDTLS_LIB)
# fuzz_ehci_storage (tests/unit/fuzz_ehci_storage.cpp, seeds in tests/unit/corpus/ehci_storage/): the
# mass-storage path on EHCI, an enrolled stick behind the fake controller, against hostile CBWs,
# data qTDs and rewrites; the stick's medium must never hold the guest's plaintext.
UNIT_FUZZ_WITH_ehci_storage = $(UNIT_FUZZ_WITH_ehci)
UNIT_FUZZ_EXTRA_ehci_storage = $(UNIT_FUZZ_EXTRA_ehci)
UNIT_FUZZ_LIBS_ehci_storage = $(UNIT_FUZZ_LIBS_ehci)
$(UNIT_BUILD)/fuzz_ehci_storage: $(wildcard drivers/usb/*.hpp)
$(UNIT_BUILD)/fuzz_ehci: $(wildcard drivers/usb/*.hpp)

# The monitor glue (drivers/usb/xhci_install.cpp), host-tested against the device kit's mocks
# (tests/unit/mocks/) in tests/unit/test_xhci_install_glue.cpp; the EHCI glue likewise in
# tests/unit/test_ehci_install_glue.cpp.
UNIT_CORE_SRCS += drivers/usb/xhci_install.cpp drivers/usb/ehci_install.cpp
UNIT_STRICT_SRCS += drivers/usb/xhci_install.cpp drivers/usb/ehci_install.cpp
