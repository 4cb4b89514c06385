# The IOMMU drivers (drivers/iommu/): the DMAR and IVRS parsers, the VT-d and AMD-Vi table
# builders and unit sequences are host-tested (tests/unit/test_iommu_*.cpp) and the parsers are
# fuzzed (fuzz_dmar, fuzz_ivrs). Included by the top-level Makefile before mk/unit.mk; the
# monitor build picks up drivers/iommu/*.cpp through MON_CXX_SRCS.

IOMMU_PURE_SRCS := drivers/iommu/dmar.cpp drivers/iommu/vtd_tables.cpp drivers/iommu/vtd_unit.cpp \
                   drivers/iommu/ivrs.cpp drivers/iommu/amdvi_tables.cpp drivers/iommu/amdvi_unit.cpp \
                   drivers/iommu/amdvi_interrupts.cpp
UNIT_CORE_SRCS += $(IOMMU_PURE_SRCS)
UNIT_STRICT_SRCS += $(IOMMU_PURE_SRCS) $(wildcard tests/unit/test_iommu_*.cpp)
UNIT_FUZZ_WITH_dmar := drivers/iommu/dmar.cpp
UNIT_FUZZ_WITH_ivrs := drivers/iommu/ivrs.cpp
