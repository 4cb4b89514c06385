#include "core/handlers/bios_services.hpp"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/handlers/bios_int15.hpp"
#include "core/device/guest_memory.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"

extern "C" char tv_rm_stub_start[], tv_rm_stub_end[], tv_rm_stub_service_call[], tv_rm_stub_orig15[];
extern "C" char tv_rm_stub_boot[], tv_rm_stub_fail_call[], tv_rm_stub_drive[];
extern "C" char tv_rm_stub_int13[], tv_rm_stub_disk_call[], tv_rm_stub_orig13[], tv_rm_stub_disk_drive[];

namespace tv {

namespace {

constexpr u64 kBdaBaseMemKb = 0x413;
constexpr u64 kBdaHardDisks = 0x475;
u16 g_stub_seg;
u8 g_boot_drive;
constinit BiosDiskFn g_disk_fn = nullptr;
constinit void* g_disk_ctx = nullptr;

u16 offset_of(char const* sym) { return static_cast<u16>(sym - tv_rm_stub_start); }

template <typename T>
T* guest_phys(u64 gpa) {
    return static_cast<T*>(phys_to_virt(gpa));
}

void set_low(Vcpu& v, Reg r, u64 value, u64 mask) { v.set_reg(r, (v.reg(r) & ~mask) | (value & mask)); }

// What the services write for the guest goes through the monitor's one guest-memory rule.
class MonitorBiosMemory final : public BiosMemory {
  public:
    bool guest_ram(u64 gpa, u64 bytes) override { return guest_memory().ok(Gpa{gpa}, bytes); }
    u8* guest_ptr(u64 gpa) override { return guest_phys<u8>(gpa); }
    void log(char const* fmt, ...) override {
        char line[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        tv::log("%s", line);
    }
};
MonitorBiosMemory g_mem;

}  // namespace

Status bios_services_install(MemoryMap& guest_map, u8 boot_drive, bool intel, RealModeStart* start) {
    u16* base_kb = guest_phys<u16>(kBdaBaseMemKb);
    if (*base_kb < 64 || *base_kb > 640) {
        log("bios: implausible base memory size %u KiB in the BDA", *base_kb);
        return Status::Invalid;
    }
    u64 size = static_cast<u64>(tv_rm_stub_end - tv_rm_stub_start);
    if (size > 1024) return Status::Invalid;
    u16 new_kb = static_cast<u16>(*base_kb - 1);
    u64 stub = static_cast<u64>(new_kb) * 1024;
    u64 old_top = static_cast<u64>(*base_kb) * 1024;
    *base_kb = new_kb;
    g_stub_seg = static_cast<u16>(stub >> 4);
    g_boot_drive = boot_drive;

    u8* dst = guest_phys<u8>(stub);
    memcpy(dst, tv_rm_stub_start, size);
    u32* ivt = guest_phys<u32>(0);
    memcpy(dst + offset_of(tv_rm_stub_orig15), &ivt[0x15], 4);
    dst[offset_of(tv_rm_stub_drive)] = boot_drive;
    if (intel) {  // vmmcall 0f 01 d9 -> vmcall 0f 01 c1
        dst[offset_of(tv_rm_stub_service_call) + 2] = 0xC1;
        dst[offset_of(tv_rm_stub_fail_call) + 2] = 0xC1;
        dst[offset_of(tv_rm_stub_disk_call) + 2] = 0xC1;
    }
    ivt[0x15] = static_cast<u32>(g_stub_seg) << 16;

    Status s = guest_map.set_type(stub, old_top - stub, MemType::Reserved);
    if (!ok(s)) return s;
    *start = RealModeStart{g_stub_seg, offset_of(tv_rm_stub_boot), 0, 0x7C00, 0, 0, boot_drive};
    log("bios: INT 15h memory queries hooked at %04x:0000 (base memory now %u KiB)", g_stub_seg, new_kb);
    return Status::Ok;
}

Status bios_disk_install(u8 drive, BiosDiskFn fn, void* ctx) {
    if (g_stub_seg == 0 || !fn || drive < 0x80) return Status::Unsupported;
    u8* stub = guest_phys<u8>(static_cast<u64>(g_stub_seg) << 4);
    u32* ivt = guest_phys<u32>(0);
    memcpy(stub + offset_of(tv_rm_stub_orig13), &ivt[0x13], 4);
    stub[offset_of(tv_rm_stub_disk_drive)] = drive;
    ivt[0x13] = static_cast<u32>(g_stub_seg) << 16 | offset_of(tv_rm_stub_int13);
    // Boot loaders and kernels count hard disks in the BDA: the new drive must be in it.
    u8* count = guest_phys<u8>(kBdaHardDisks);
    u8 const needed = static_cast<u8>(drive - 0x7F);
    if (*count < needed) *count = needed;
    g_disk_fn = fn;
    g_disk_ctx = ctx;
    log("bios: INT 13h drive %#x served by the monitor (BDA hard disks %u)", drive, *count);
    return Status::Ok;
}

namespace {

void disk_call(Vcpu& v) {
    BiosDiskRegs r{static_cast<u32>(v.reg(Reg::Rax)), static_cast<u32>(v.reg(Reg::Rbx)),
                   static_cast<u32>(v.reg(Reg::Rcx)), static_cast<u32>(v.reg(Reg::Rdx)),
                   static_cast<u32>(v.reg(Reg::Rsi)), static_cast<u32>(v.reg(Reg::Rdi)),
                   v.segment(SegReg::Ds).base, v.segment(SegReg::Es).base, false};
    g_disk_fn(g_disk_ctx, r);  // checks its own buffers against guest RAM (aoe_disk_int13)
    v.set_reg(Reg::Rax, (v.reg(Reg::Rax) & ~0xFFFFFFFFull) | r.eax);
    v.set_reg(Reg::Rbx, (v.reg(Reg::Rbx) & ~0xFFFFFFFFull) | r.ebx);
    v.set_reg(Reg::Rcx, (v.reg(Reg::Rcx) & ~0xFFFFFFFFull) | r.ecx);
    v.set_reg(Reg::Rdx, (v.reg(Reg::Rdx) & ~0xFFFFFFFFull) | r.edx);
    (void)bios_set_stacked_carry(v, g_mem, r.carry);
}

}  // namespace

bool bios_services_hypercall(Vcpu& v, MemoryMap const& map) {
    if ((v.cr0() & x86::kCr0Pe) || v.segment(SegReg::Cs).selector != g_stub_seg || g_stub_seg == 0) return false;
    u64 ip = v.rip();
    if (ip == offset_of(tv_rm_stub_fail_call)) {
        console("thinvisor: the BIOS could not read a boot sector from drive %#x (INT 13h failed or no 55AA "
                "signature); nothing to boot, halting",
                g_boot_drive);
        x86::halt_forever();
    }
    if (ip == offset_of(tv_rm_stub_disk_call) && g_disk_fn) {
        disk_call(v);
        v.set_rip(ip + 3);
        return true;
    }
    if (ip != offset_of(tv_rm_stub_service_call)) return false;
    u32 eax = static_cast<u32>(v.reg(Reg::Rax));
    if (eax == 0xE820) {
        bios_e820(v, g_mem, map);
    } else if ((eax & 0xFFFF) == 0xE801) {
        u16 kb, blocks;
        map.e801(&kb, &blocks);
        set_low(v, Reg::Rax, kb, 0xFFFF);
        set_low(v, Reg::Rcx, kb, 0xFFFF);
        set_low(v, Reg::Rbx, blocks, 0xFFFF);
        set_low(v, Reg::Rdx, blocks, 0xFFFF);
        (void)bios_set_stacked_carry(v, g_mem, false);
    } else {
        set_low(v, Reg::Rax, map.ext_kb_88h(), 0xFFFF);
        (void)bios_set_stacked_carry(v, g_mem, false);
    }
    v.set_rip(ip + 3);
    return true;
}

}  // namespace tv
