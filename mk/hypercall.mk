# The hypercall policy (core/handlers/hypercall_policy): host-tested in
# tests/unit/test_hypercall_policy.cpp, with the BIOS services' guest-memory writes
# (core/handlers/bios_guest_mem, tests/unit/test_bios_services.cpp). Prefixed HC_.
UNIT_BUILD ?= build/unit
HC_PURE_SRCS := core/handlers/hypercall_policy.cpp
HC_TEST_SRCS := tests/unit/test_hypercall_policy.cpp
UNIT_CORE_SRCS += $(HC_PURE_SRCS)
# Strict warnings plus include/ for the hypercall ABI header. Not in UNIT_STRICT_SRCS: its
# assignment would replace these flags.
HC_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(HC_PURE_SRCS) $(HC_TEST_SRCS))
$(HC_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) -Iinclude
