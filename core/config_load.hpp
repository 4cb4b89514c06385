#pragma once

#include "core/boot_info.hpp"
#include "core/config.hpp"

namespace tv {

// False when thinvisor.conf is present but invalid (the reason is already on the console).
[[nodiscard]] bool config_load(BootInfo const& bi);
// The loaded configuration, or nullptr when the machine was booted without one.
Config const* config();
BootModule const* find_module(BootInfo const& bi, char const* file);

}  // namespace tv
