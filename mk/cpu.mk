# The guest's CPU view (core/handlers): the default-deny MSR policy, host-tested
# (tests/unit/test_msr_policy.cpp). cpu_handlers.cpp is listed in the top-level Makefile.
UNIT_CORE_SRCS += core/handlers/msr_policy.cpp
UNIT_STRICT_SRCS += core/handlers/msr_policy.cpp tests/unit/test_msr_policy.cpp
UNIT_CORE_SRCS += core/handlers/phys_edge.cpp
UNIT_STRICT_SRCS += core/handlers/phys_edge.cpp tests/unit/test_phys_edge.cpp
# Both backends' MSR intercept bitmaps, built from that policy.
UNIT_CORE_SRCS += core/arch/x86/svm/svm_msrpm.cpp core/arch/x86/vmx/vmx_msr_bitmap.cpp
UNIT_STRICT_SRCS += core/arch/x86/svm/svm_msrpm.cpp core/arch/x86/vmx/vmx_msr_bitmap.cpp \
                    tests/unit/test_msr_bitmaps.cpp
