#include "drivers/usb/host/kept_reader.hpp"

namespace tv::usb::host {

namespace {

struct KeptReader {
    bool kept;
    pci::Bdf bdf;
    u8 root_port;
    bool behind_hub;
};
constinit KeptReader g_kept{};

}  // namespace

void keep_reader_port(pci::Bdf controller, u8 root_port, bool behind_hub) {
    g_kept = KeptReader{true, controller, root_port, behind_hub};
}

bool kept_reader_port(pci::Bdf b, u8& root_port, bool& behind_hub) {
    if (!g_kept.kept || !(g_kept.bdf == b)) return false;
    root_port = g_kept.root_port;
    behind_hub = g_kept.behind_hub;
    return true;
}

void forget_kept_reader() { g_kept = KeptReader{}; }

}  // namespace tv::usb::host
