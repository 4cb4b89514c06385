// The monitor's log UART (COM2) is the monitor's: the guest sees an empty port there.
#pragma once

#include "core/types.hpp"

namespace tv {
[[nodiscard]] Status monitor_uart_hide();
}
