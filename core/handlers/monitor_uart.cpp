#include "core/handlers/monitor_uart.hpp"

#include "core/arch/x86/serial.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"

namespace tv {

namespace {
bool g_probed;

IoAction absent(void*, Vcpu&, IoExit const& io, u32* value) {
    if (!g_probed) {
        g_probed = true;
        log("uart: guest probed the monitor's log port %#x; it reads as absent", io.port);
    }
    if (io.in) *value = 0xFFFFFFFF;  // floating bus: no UART here
    return IoAction::Handled;
}
}  // namespace

Status monitor_uart_hide() { return io_hook_register(x86::kCom2, 8, absent, nullptr, "monitor-uart"); }

}  // namespace tv
