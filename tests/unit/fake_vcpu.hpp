// A Vcpu for host tests of the vendor-neutral handlers: registers in memory, injected
// events recorded.
#pragma once

#include "core/vcpu.hpp"

namespace tv::test {

class FakeVcpu final : public Vcpu {
  public:
    FakeVcpu() : Vcpu(0) {}
    ExitRecord run() override { return ExitRecord{}; }
    u64 rip() const override { return rip_; }
    void set_rip(u64 v) override { rip_ = v; }
    u64 rflags() const override { return rflags_; }
    void set_rflags(u64 v) override { rflags_ = v; }
    u64 cr0() const override { return cr0_; }
    u64 cr3() const override { return 0; }
    u64 cr4() const override { return cr4_; }
    u64 efer() const override { return efer_; }
    void set_efer(u64 v) override { efer_ = v; }
    Segment segment(SegReg r) const override { return segs_[static_cast<int>(r)]; }
    u8 cpl() const override { return 0; }
    void inject_exception(u8 vector, bool has_error, u32 error) override {
        injected = true;
        vector_ = vector;
        has_error_ = has_error;
        error_ = error;
    }
    void set_single_step(bool on) override { stepping = on; }
    void flush_nested_tlb() override { ++flushes; }

    u64 rip_ = 0x1000, rflags_ = 2, cr0_ = 0x80000011, efer_ = 0x500;
    u64 cr4_ = 0;  // as the guest set it
    Segment segs_[6]{};
    bool injected = false, stepping = false;
    u8 vector_ = 0;
    bool has_error_ = false;
    u32 error_ = 0;
    int flushes = 0;
};

inline ExitRecord exit_of(ExitReason r, u8 len) {
    ExitRecord e{};
    e.reason = r;
    e.insn_len = len;
    return e;
}

}  // namespace tv::test
