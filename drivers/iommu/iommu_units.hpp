// The two IOMMU drivers behind drivers/iommu/iommu.hpp (iommu.cpp calls both; a machine has
// one kind or none). Each *_prepare() returns whether the firmware described units of its kind.
#pragma once

#include "core/nested_paging.hpp"

namespace tv::iommu {

bool vtd_monitor_prepare();
bool vtd_monitor_guards(u8 bus, u8 dev, u8 fn);
[[nodiscard]] Status vtd_monitor_enable(PageSource& ps, u64 top);

bool amdvi_monitor_prepare();
bool amdvi_monitor_guards(u8 bus, u8 dev, u8 fn);
[[nodiscard]] Status amdvi_monitor_enable(PageSource& ps, u64 top);

}  // namespace tv::iommu
