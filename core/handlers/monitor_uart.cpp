#include "core/handlers/monitor_uart.hpp"

#include "core/arch/x86/serial.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"

namespace tv {

namespace {
constexpr u16 kLineStatus = 5;
constexpr u32 kTransmitterEmpty = 0x60;  // THRE | TEMT
bool g_probed;

IoAction absent(void*, Vcpu&, IoExit const& io, u32* value) {
    if (!g_probed) {
        g_probed = true;
        log("uart: guest probed the monitor's log port %#x; it reads as absent", io.port);
    }
    if (io.in) *value = 0xFFFFFFFF;  // floating bus: no UART here
    // Except the line status: UEFI firmware adopts the port as a console before the monitor
    // starts. 0xFF would read as "data ready" and feed it an endless stream of keystrokes;
    // "transmitter empty, no data" lets its output vanish quietly. A probe still finds no
    // UART (the scratch and interrupt-enable registers do not read back).
    if (io.in && io.port == x86::kCom2 + kLineStatus && io.size == 1) *value = kTransmitterEmpty;
    return IoAction::Handled;
}
}  // namespace

Status monitor_uart_hide() { return io_hook_register(x86::kCom2, 8, absent, nullptr, "monitor-uart"); }

}  // namespace tv
