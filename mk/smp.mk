# Multiprocessor guests: the pure INIT/SIPI pieces (ICR decoding, the wait-for-SIPI state),
# host-tested in tests/unit/test_smp_*.cpp.
UNIT_CORE_SRCS += core/apic_icr.cpp
UNIT_STRICT_SRCS += core/apic_icr.cpp tests/unit/test_smp_icr.cpp tests/unit/test_smp_sipi_state.cpp
