// The machine's ports in the monitor: the CPU's in/out, straight to the hardware.
#include "core/arch/x86/cpu.hpp"
#include "core/device/port_io.hpp"

namespace tv {

namespace {

class CpuPorts final : public PortIo {
  public:
    u32 in(u16 port, u8 size) override {
        if (size == 1) return x86::inb(port);
        if (size == 2) return x86::inw(port);
        return x86::inl(port);
    }
    void out(u16 port, u8 size, u32 v) override {
        if (size == 1) x86::outb(port, static_cast<u8>(v));
        else if (size == 2) x86::outw(port, static_cast<u16>(v));
        else x86::outl(port, v);
    }
    void in_words(u16 port, u16* buf, u32 n) override {
        asm volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
    }
    void out_words(u16 port, u16 const* buf, u32 n) override {
        asm volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
    }
};

constinit CpuPorts g_ports;

}  // namespace

PortIo& machine_ports() { return g_ports; }

}  // namespace tv
