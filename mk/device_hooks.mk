# The hook half of the device kit (core/device/): devices and their locks, the I/O-port
# router. Pure and host-tested; the monitor links them too. Listed by name (the other half of
# the kit, guest memory and interrupts, has its own fragment); filter-out keeps an object
# from being linked twice should a wildcard elsewhere pick core/device/ up as well.

KIT_HOOK_SRCS := core/device/port_router.cpp core/device/hook_move.cpp drivers/pci/bar_plan.cpp

# drivers/pci/*.cpp is in the monitor's wildcard already.
MON_OBJS += $(filter-out $(MON_OBJS),$(patsubst %.cpp,$(BUILD)/mon/%.o,$(KIT_HOOK_SRCS)))
KIT_HOOK_UNIT_SRCS := $(filter-out $(UNIT_CORE_SRCS),$(KIT_HOOK_SRCS))
UNIT_CORE_SRCS += $(KIT_HOOK_UNIT_SRCS)
UNIT_STRICT_SRCS += $(KIT_HOOK_SRCS) tests/unit/test_kit_hooks.cpp
