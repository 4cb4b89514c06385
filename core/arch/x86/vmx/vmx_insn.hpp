// The VMX instructions the monitor executes, typed by VMCS field width (see vmcs.hpp).
// VMX instructions report failure in CF (VMfailInvalid) or ZF (VMfailValid): "be" catches both.
#pragma once

#include "core/arch/x86/vmx/vmcs.hpp"

namespace tv::vmx {

[[nodiscard]] inline bool vmxon(Hpa region) {
    bool fail;
    asm volatile("vmxon %1" : "=@ccbe"(fail) : "m"(region.raw) : "memory");
    return !fail;
}

[[nodiscard]] inline bool vmclear(Hpa vmcs) {
    bool fail;
    asm volatile("vmclear %1" : "=@ccbe"(fail) : "m"(vmcs.raw) : "memory");
    return !fail;
}

[[nodiscard]] inline bool vmptrld(Hpa vmcs) {
    bool fail;
    asm volatile("vmptrld %1" : "=@ccbe"(fail) : "m"(vmcs.raw) : "memory");
    return !fail;
}

// The first field a VMWRITE failed on since the last take_vmwrite_error(); 0 = none. A failed
// write means the monitor named a field this CPU lacks: a bug, reported once at setup or entry.
inline constinit u32 g_vmwrite_error = 0;

inline void vmwrite_raw(u32 enc, u64 value) {
    bool fail;
    asm volatile("vmwrite %2, %1" : "=@ccbe"(fail) : "r"(static_cast<u64>(enc)), "rm"(value) : "memory");
    if (fail && g_vmwrite_error == 0) g_vmwrite_error = enc;
}

inline u64 vmread_raw(u32 enc) {
    u64 v;
    asm volatile("vmread %1, %0" : "=r"(v) : "r"(static_cast<u64>(enc)) : "cc");
    return v;
}

[[nodiscard]] inline u32 take_vmwrite_error() {
    u32 const e = g_vmwrite_error;
    g_vmwrite_error = 0;
    return e;
}

inline void vmwrite(F16 f, u16 v) { vmwrite_raw(f.enc, v); }
inline void vmwrite(F32 f, u32 v) { vmwrite_raw(f.enc, v); }
inline void vmwrite(F64 f, u64 v) { vmwrite_raw(f.enc, v); }
inline void vmwrite(FNat f, u64 v) { vmwrite_raw(f.enc, v); }
inline u16 vmread(F16 f) { return static_cast<u16>(vmread_raw(f.enc)); }
inline u32 vmread(F32 f) { return static_cast<u32>(vmread_raw(f.enc)); }
inline u64 vmread(F64 f) { return vmread_raw(f.enc); }
inline u64 vmread(FNat f) { return vmread_raw(f.enc); }

enum class InveptType : u64 { SingleContext = 1, AllContexts = 2 };

inline void invept(InveptType type, u64 eptp) {
    InveptDescriptor const d{eptp, 0};
    asm volatile("invept %0, %1" ::"m"(d), "r"(static_cast<u64>(type)) : "memory", "cc");
}

}  // namespace tv::vmx
