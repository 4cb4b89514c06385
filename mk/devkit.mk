# The device kit's driver half (core/device/): the guest-memory rule and the shared guest
# page walk, the IrqLine and the PCI driver registry, host-tested in
# tests/unit/test_devkit_*.cpp. Included by the top-level Makefile before mk/unit.mk; the
# monitor build picks up core/device/*.cpp through MON_CXX_SRCS.
#
#   make devkit-unit    run only these tests of build/unit/unit_tests

DEVKIT_PURE_SRCS := core/device/guest_memory.cpp core/device/guest_linear.cpp core/device/irq_line.cpp \
                    core/device/irq_controllers.cpp core/device/pci_registry.cpp \
                    core/device/ioapic_guard.cpp
DEVKIT_TEST_SRCS := $(wildcard tests/unit/test_devkit_*.cpp)

# The mediators' monitor glue, host-tested against fakes of the registries it calls (the
# IDE install probes its channels through core/device/port_io, whose monitor side,
# port_io_monitor.cpp, is the in/out instructions and is not host-built).
DEVKIT_GLUE_SRCS := drivers/nic/e1000_install.cpp drivers/pci/passthrough_test.cpp \
                    drivers/ahci/ahci_install.cpp drivers/ide/ide_install.cpp drivers/aoe_disk/aoe_disk_install.cpp \
                    tests/unit/mocks/monitor_registries.cpp

UNIT_CORE_SRCS += $(DEVKIT_PURE_SRCS) $(DEVKIT_GLUE_SRCS)
UNIT_STRICT_SRCS += $(DEVKIT_PURE_SRCS) $(DEVKIT_TEST_SRCS)

.PHONY: devkit-unit
devkit-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='GuestMemory*:GuestLinear*:IrqLine*:PciRegistry*:InstallGlue*:*InstallGlue*:ApicControllers*'
