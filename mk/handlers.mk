# core/handlers, host-tested: the hypercall policy (core/handlers/hypercall_policy,
# tests/unit/test_hypercall_policy.cpp) and the BIOS services' guest-memory writes
# (core/handlers/bios_int15, tests/unit/test_bios_int15.cpp). Prefixed HC_.
UNIT_BUILD ?= build/unit
HC_PURE_SRCS := core/handlers/hypercall_policy.cpp core/handlers/bios_int15.cpp
HC_TEST_SRCS := tests/unit/test_hypercall_policy.cpp tests/unit/test_bios_int15.cpp
UNIT_CORE_SRCS += $(HC_PURE_SRCS)
# Strict warnings plus include/ for the hypercall ABI header. Not in UNIT_STRICT_SRCS: its
# assignment would replace these flags.
HC_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(HC_PURE_SRCS) $(HC_TEST_SRCS))
$(HC_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) -Iinclude
