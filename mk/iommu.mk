# The IOMMU drivers (drivers/iommu/): the DMAR parser and the VT-d page-table builder are
# host-tested (tests/unit/test_iommu_*.cpp) and the parser is fuzzed (fuzz_dmar). Included
# by the top-level Makefile before mk/unit.mk; the monitor build picks up drivers/iommu/*.cpp
# through MON_CXX_SRCS.

IOMMU_PURE_SRCS := drivers/iommu/dmar.cpp drivers/iommu/vtd_tables.cpp drivers/iommu/vtd_unit.cpp
UNIT_CORE_SRCS += $(IOMMU_PURE_SRCS)
UNIT_STRICT_SRCS += $(IOMMU_PURE_SRCS) $(wildcard tests/unit/test_iommu_*.cpp)
UNIT_FUZZ_WITH_dmar := drivers/iommu/dmar.cpp
