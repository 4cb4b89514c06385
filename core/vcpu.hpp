// One virtual CPU as common code sees it. Each vendor backend (svm/, vmx/) implements this
// small interface once; handlers and the run loop are written only against it.
#pragma once

#include "core/exit_record.hpp"
#include "core/types.hpp"

namespace tv {

enum class Reg : u8 { Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15, kCount };
enum class SegReg : u8 { Es, Cs, Ss, Ds, Fs, Gs };

struct Segment {
    u16 selector;
    u16 attr;  // SVM-style compressed attributes: type, S, DPL, P, AVL, L, DB, G
    u32 limit;
    u64 base;
};

// Guest general-purpose registers, in hardware encoding order. The backend keeps RAX/RSP
// here too (copied from/to its control structure around each entry).
struct GuestGprs {
    u64 r[static_cast<u8>(Reg::kCount)];
};

class Vcpu {
  public:
    // Enter the guest and return the next exit.
    virtual ExitRecord run() = 0;

    u64 reg(Reg r) const { return gprs_.r[static_cast<u8>(r)]; }
    void set_reg(Reg r, u64 v) { gprs_.r[static_cast<u8>(r)] = v; }

    virtual u64 rip() const = 0;
    virtual void set_rip(u64) = 0;
    virtual u64 rflags() const = 0;
    virtual void set_rflags(u64) = 0;
    virtual u64 cr0() const = 0;  // as the guest believes it to be
    virtual u64 cr3() const = 0;
    virtual u64 cr4() const = 0;
    virtual u64 efer() const = 0;  // as the guest believes it to be (no SVME/forced bits)
    virtual void set_efer(u64) = 0;
    virtual Segment segment(SegReg) const = 0;
    virtual u8 cpl() const = 0;

    virtual void inject_exception(u8 vector, bool has_error, u32 error) = 0;
    // An NMI exit that was not the monitor's own kick: the guest gets it.
    virtual void inject_nmi() {}
    // Trap after the next guest instruction completes (ExitReason::Exception, vector 1),
    // with interrupts held off for that one instruction.
    virtual void set_single_step(bool on) = 0;
    // The nested page tables changed in a way that removes or narrows a mapping.
    virtual void flush_nested_tlb() = 0;
    // A CrAccess exit: the guest touched a control-register bit the backend keeps shadowed
    // (VMX: the CR0/CR4 guest/host masks). Performs the access as the guest sees it, or
    // injects the fault it deserves, and moves past the instruction. False when this backend
    // never shadows control registers, so the exit is unexpected (the default, which keeps
    // test doubles that never see such exits small).
    [[nodiscard]] virtual bool emulate_cr_access(ExitRecord const&) { return false; }
    // INIT then SIPI: the CPU's state as after INIT, running real mode at CS = vector << 8,
    // IP = 0. False when the backend cannot (the default, for test doubles).
    [[nodiscard]] virtual bool start_at_sipi(u8) { return false; }

    // Skip the instruction that caused `e`; false when its length is unknown.
    [[nodiscard]] bool skip(ExitRecord const& e) {
        if (e.insn_len == 0) return false;
        set_rip(rip() + e.insn_len);
        return true;
    }

    u32 id() const { return id_; }

    // Starts or stops intercepting ports [first, first + count) for this vCPU from its next
    // entry on, for a hook whose interest changes at run time (the PCI data ports matter only
    // while the address port names a hooked function). Both vendors' port bitmaps have one
    // bit per port, set = exit; the backend hands its bitmap over at creation.
    void set_io_intercept(u16 first, u16 count, bool on) {
        if (!io_bitmap_) return;
        for (u32 p = first; p < u32{first} + count && p < 0x10000; ++p) {
            u8 const bit = static_cast<u8>(1u << (p % 8));
            io_bitmap_[p / 8] = static_cast<u8>(on ? io_bitmap_[p / 8] | bit : io_bitmap_[p / 8] & ~bit);
        }
    }
    bool io_intercepted(u16 port) const { return io_bitmap_ && (io_bitmap_[port / 8] & (1u << (port % 8))); }
    // For the backend, at creation: the vCPU's own port bitmap (8 KiB, bit per port).
    void set_io_bitmap(u8* bitmap) { io_bitmap_ = bitmap; }

  protected:
    explicit Vcpu(u32 id) : id_(id) {}
    ~Vcpu() = default;
    GuestGprs gprs_{};

  private:
    u32 id_;
    u8* io_bitmap_{nullptr};
};

}  // namespace tv
