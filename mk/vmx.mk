# The Intel VT-x backend's pure parts, host-tested (tests/unit/test_vmx_*.cpp).
UNIT_CORE_SRCS += core/arch/x86/vmx/vmx_exit_decode.cpp core/arch/x86/vmx/vmx_caps.cpp
UNIT_STRICT_SRCS += core/arch/x86/vmx/vmx_exit_decode.cpp core/arch/x86/vmx/vmx_caps.cpp \
                    tests/unit/test_vmx_exit_decode.cpp tests/unit/test_vmx_caps.cpp \
                    tests/unit/test_vmx_guest_cpuid.cpp tests/unit/test_vmx_step.cpp

# The Bochs suite (tests/suites/bochs.py) boots a variant of the guest image whose kernel
# needs no decompression (tools/guest/build-bochs-guest.sh).
.PHONY: bochs-guest
bochs-guest: guest | $(DEPS_STAMP)  # it runs build-guest.sh too: never both at once
	bash tools/guest/build-bochs-guest.sh
TEST_DEPS += bochs-guest
