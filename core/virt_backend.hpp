// The narrow interface between the vendor-neutral core and a virtualization backend
// (svm/ or vmx/). Chosen once at boot from CPUID; the core never asks which vendor runs.
#pragma once

#include "core/guest_start.hpp"
#include "core/types.hpp"
#include "core/vcpu.hpp"

namespace tv {

enum class NestedFormat : u8;

// What the core wants intercepted, in vendor-neutral form; each backend encodes it into its
// own bitmaps (IOPM/MSRPM or I/O and MSR bitmaps).
struct InterceptSet {
    static constexpr size_t kMaxMsrs = 32;
    u8 io_ports[65536 / 8]{};  // bit set = every access to that port exits
    u32 msrs[kMaxMsrs]{};    // every read and write of these MSRs exits
    size_t msr_count{0};

    void add_port(u16 port) { io_ports[port / 8] = static_cast<u8>(io_ports[port / 8] | (1u << (port % 8))); }
    bool has_port(u16 port) const { return io_ports[port / 8] & (1u << (port % 8)); }
    bool add_msr(u32 msr) {
        if (msr_count == kMaxMsrs) return false;
        msrs[msr_count++] = msr;
        return true;
    }
};

class VirtBackend {
  public:
    virtual char const* name() const = 0;
    // False (with a reason for the user) when this CPU cannot run the guest protected.
    [[nodiscard]] virtual bool check_cpu(char* why, size_t n) const = 0;
    [[nodiscard]] virtual Status enable_cpu() = 0;
    virtual NestedFormat nested_format() const = 0;
    // Whether a physical NMI makes a vCPU exit (and the backend consumes it), so that another
    // CPU can make it leave the guest to see an INIT.
    virtual bool kicks_by_nmi() const { return false; }
    // Lets NMIs reach the monitor's own handler while it halts (SVM holds them while GIF is
    // clear, as it is after every exit), and masks them again.
    virtual void host_nmis(bool open) const { (void)open; }
    // Extra MSRs the backend must guard on top of the core's set (its own control MSRs).
    virtual void add_protected_msrs(InterceptSet& set) const = 0;
    // A vCPU whose first instruction runs in the state `start` describes: real mode (BIOS
    // boot) or a full long-mode CPU (UEFI boot: the firmware resumes where the loader left
    // it). nullptr when out of memory or when the backend cannot start that kind.
    virtual Vcpu* create_vcpu(u32 id, GuestStart const& start, Hpa nested_root, InterceptSet const& set) = 0;

  protected:
    ~VirtBackend() = default;
};

VirtBackend* svm_backend();
VirtBackend* select_backend();  // by CPUID vendor; nullptr when no backend fits

}  // namespace tv
