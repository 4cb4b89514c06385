// libFuzzer target: the AHCI mediator (drivers/ahci/ahci_*) against a hostile guest. The input
// is a script: register accesses (mostly port 0's, sometimes anywhere in the ABAR), writes of
// guest RAM (raw, or shaped as a command header, a command FIS or a PRD aimed at guest RAM,
// at the monitor's range or past RAM), device steps (run the issued slots, finish NCQ tags)
// and polls. The disk is encrypted (its key is set up as the monitor would) or not.
// Checks: nothing out of bounds (ASan/UBSan); the mediator reads and writes only guest RAM
// outside the modelled monitor range; and the fake HBA checks every address the mediator
// gives the device (command list, FIS area, tables, PRDs): each must lie in the monitor
// memory the port and the bounce pool own, so guest memory is never the device's target.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include "tests/unit/fuzz_input.hpp"
#include "drivers/ahci/ahci_hba.hpp"

using namespace tv;
using namespace tv::ata;
using namespace tv::ata::ahci;

namespace {

constexpr u64 kRam = 1u << 20;                               // guest RAM: [0, 1 MiB)
constexpr u64 kMonBase = 0xC0000, kMonEnd = 0xD0000;          // the monitor's, inside it
constexpr u32 kPoolPages = 32;
constexpr u32 kDiskSectors = 256;
constexpr char kSerial[] = "QM00001";

struct Mem {
    u8* p;
    u64 n;
    bool holds(u64 dev, u64 len) const {
        u64 const b = reinterpret_cast<u64>(p);
        return len <= n && dev >= b && dev - b <= n - len;
    }
};

class Machine final : public AhciEnv {
  public:
    u8 ram[kRam];
    u32 regs[(kPortBase + kPortStride) / 4];
    u8 disk[kDiskSectors * 512];
    bool serial_matches{true};
    Mem port_mem{}, pool_mem{};

    u32& port(u32 reg) { return regs[port_reg(0, reg) / 4]; }
    void reset() {
        zero_fill(ram, sizeof ram);
        memset(regs, 0, sizeof regs);
        regs[kPi / 4] = 1;
        port(kPxSig) = 0x101;
    }

    // ---- AhciEnv ----
    u32 dev_read(u32 off) override { return off / 4 < sizeof regs / 4 ? regs[off / 4] : 0; }
    void dev_write(u32 off, u32 v) override {
        if (off / 4 >= sizeof regs / 4) return;
        if (off == port_reg(0, kPxCi)) port(kPxCi) |= v;
        else if (off == port_reg(0, kPxSact)) port(kPxSact) |= v;
        else if (off == port_reg(0, kPxIs) || off == port_reg(0, kPxSerr)) regs[off / 4] &= ~v;
        else if (off == port_reg(0, kPxCmd)) {
            port(kPxCmd) = (v & 0x3FFF) | (v & kCmdSt ? 1u << 15 : 0) | (v & kCmdFre ? 1u << 14 : 0);
            if (!(v & kCmdSt)) port(kPxCi) = port(kPxSact) = 0;
        } else regs[off / 4] = v;
    }
    bool guest_ok(Gpa g, u64 len) override {
        u64 const gpa = g.raw, end = gpa + len;
        return len && end >= gpa && end <= kRam && (end <= kMonBase || gpa >= kMonEnd);
    }
    bool guest_read(Gpa gpa, void* dst, u64 len) override {
        if (!guest_ok(gpa, len)) return false;
        memcpy(dst, ram + gpa.raw, len);
        return true;
    }
    bool guest_write(Gpa gpa, void const* src, u64 len) override {
        if (!guest_ok(gpa, len)) return false;
        memcpy(ram + gpa.raw, src, len);
        return true;
    }
    void refused(u32, u32, u8, char const*) override {}
    void note(u32, char const*) override {}
    void trap_reads() override {}

    // ---- the device: every address it is given must be the monitor's ----
    // Data (a PRD's target) may also be guest RAM outside the monitor: the zero-copy path.
    u8* data(u64 a, u64 len) {
        if (a < kRam) {
            check(guest_ok(Gpa{a}, len), "zero-copy data only in guest RAM outside the monitor");
            return ram + a;
        }
        return dev<u8>(a, len);
    }
    template <class T>
    T* dev(u64 a, u64 len) {
        if (!port_mem.holds(a, len) && !pool_mem.holds(a, len))
            fprintf(stderr, "device access %#llx+%#llx: PxCLB %#x PxFB %#x PxCMD %#x\n", static_cast<unsigned long long>(a),
                    static_cast<unsigned long long>(len), port(kPxClb), port(kPxFb), port(kPxCmd));
        check(port_mem.holds(a, len) || pool_mem.holds(a, len), "the device is given only monitor memory");
        return reinterpret_cast<T*>(a);
    }
    void run() {
        if (!(port(kPxCmd) & kCmdSt)) return;
        for (u32 s = 0; s < kSlots; ++s)
            if (port(kPxCi) >> s & 1) run_slot(s);
    }
    void finish_ncq(u32 tags) {
        tags &= port(kPxSact) & ~port(kPxCi);
        port(kPxSact) &= ~tags;
        auto* f = dev<ReceivedFis>(port(kPxFb) | u64{port(kPxFbu)} << 32, sizeof(ReceivedFis));
        f->sdbfis = FisSdb{kFisSdb, 0x40, 0x40, 0, tags};
        port(kPxIs) |= 1u << 3;
    }

  private:
    // Moves up to `bytes` between the disk at byte `at` and the table's PRDs.
    void transfer(CommandHeader* h, u8 const* table, u64 at, u64 bytes, bool to_disk) {
        u64 done = 0;
        for (u32 i = 0; i < h->prdtl && done < bytes; ++i) {
            PrdEntry const* prd = dev<PrdEntry>(reinterpret_cast<u64>(table) + 0x80 + i * sizeof(PrdEntry),
                                                sizeof(PrdEntry));
            u64 len = (prd->dbc & kPrdDbcMask) + 1;
            if (len > bytes - done) len = bytes - done;
            u8* mem = data(prd->dba | u64{prd->dbau} << 32, len);
            for (u64 k = 0; k < len; ++k) {  // the disk wraps: a hostile LBA is the device's problem
                u8& d = disk[(at + done + k) % sizeof disk];
                if (to_disk) d = mem[k];
                else mem[k] = d;
            }
            done += len;
        }
        h->prdbc = static_cast<u32>(done);
    }
    void run_slot(u32 s) {
        auto* list = dev<CommandHeader>(port(kPxClb) | u64{port(kPxClbu)} << 32, kCommandListBytes);
        CommandHeader* h = list + s;
        u8 const* table = dev<u8>(h->ctba | u64{h->ctbau} << 32, 0x80 + u64{h->prdtl} * sizeof(PrdEntry));
        FisH2d f;
        memcpy(&f, table, sizeof f);
        u64 const lba = u64{f.lba0} | u64{f.lba1} << 8 | u64{f.lba2} << 16 | u64{f.lba3} << 24;
        u32 const count = u32{f.count_lo} | u32{f.count_hi} << 8;
        u8 status = 0x40, error = 0;
        switch (f.command) {
            case 0xEC: {  // IDENTIFY: 512 bytes, the serial the key is found by (or another)
                u16 id[256]{};
                char pad[20];
                memset(pad, ' ', sizeof pad);
                memcpy(pad, serial_matches ? kSerial : "OTHERDISK", serial_matches ? sizeof kSerial - 1 : 9);
                for (int i = 0; i < 10; ++i) id[10 + i] = static_cast<u16>(pad[2 * i] << 8 | pad[2 * i + 1]);
                memcpy(disk, id, sizeof id);
                transfer(h, table, 0, 512, false);
                break;
            }
            case 0x25: case 0xC8: case 0x20: case 0x24:
                transfer(h, table, lba * 512, u64{count ? count : 256} * 512, false);
                break;
            case 0x35: case 0xCA: case 0x30: case 0x34:
                transfer(h, table, lba * 512, u64{count ? count : 256} * 512, true);
                break;
            case 0x60: case 0x61: {
                u32 const n = u32{f.features_lo} | u32{f.features_hi} << 8;
                transfer(h, table, lba * 512, u64{n ? n : 256} * 512, f.command == 0x61);
                port(kPxCi) &= ~(1u << s);
                return;
            }
            default: status = 0x41, error = 0x04; break;
        }
        auto* rf = dev<ReceivedFis>(port(kPxFb) | u64{port(kPxFbu)} << 32, sizeof(ReceivedFis));
        rf->rfis = FisD2h{};
        rf->rfis.type = kFisD2h;
        rf->rfis.status = status;
        rf->rfis.error = error;
        port(kPxTfd) = u32{error} << 8 | status;
        if (error) {
            port(kPxIs) |= 1u << 30;
            return;
        }
        port(kPxIs) |= 1u;
        port(kPxCi) &= ~(1u << s);
    }
};

constexpr u32 kPortRegs[] = {kPxClb, kPxClbu, kPxFb, kPxFbu, kPxIs, kPxIe, kPxCmd, kPxTfd,
                             kPxSig, kPxSsts, kPxSctl, kPxSerr, kPxSact, kPxCi, kPxFbs};
constexpr u64 kClb = 0x10000, kFb = 0x11000, kTables = 0x20000;

// Monitor memory, 4 KiB aligned like alloc_pages gives it; never freed (one set per process).
u8* monitor_pages(u64 bytes) {
    u64 const n = (bytes + 4095) & ~u64{4095};
    return static_cast<u8*>(aligned_alloc(4096, n));
}

// A guest address for a shaped structure: in RAM, in the monitor's range, or past RAM.
u64 aim(Input& in) {
    u8 const k = in.take<u8>();
    u32 const v = in.take<u32>();
    switch (k % 4) {
        case 0: return kMonBase + (v % (kMonEnd - kMonBase));
        case 1: return kRam - 0x100 + (v & 0x1FF);
        default: return (0x100000 + v) % kRam;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static Machine* m = new Machine;
    static u8* port_mem = monitor_pages(kPortDmaBytes);
    static u8* prd_mem = monitor_pages(kPortPrdBytes);
    static u8* pool_mem = monitor_pages(u64{kPoolPages} * 4096);
    static DiskKeyEntry keys[1] = {};
    Input in{data, size};
    u8 const setup = in.take<u8>();
    m->reset();
    m->serial_matches = (setup & 1) != 0;
    zero_fill(port_mem, kPortDmaBytes);
    zero_fill(prd_mem, kPortPrdBytes);
    zero_fill(pool_mem, u64{kPoolPages} * 4096);
    m->port_mem = Mem{port_mem, kPortDmaBytes};
    m->pool_mem = Mem{pool_mem, u64{kPoolPages} * 4096};
    // Encrypted (a key for the serial, maybe plaintext ranges) or no disk configured at all.
    bool const encrypted = (setup & 2) != 0;
    // The key table is only read by the port: it is set again only when this input's keys
    // differ from the last input's (setting it builds an XTS key schedule and asks CPUID,
    // which traps under virtualisation: that was a tenth of the harness's time).
    static DiskKeyEntry want[1];
    static int last_encrypted = -1;
    memset(want, 0, sizeof want);
    memcpy(want[0].serial, kSerial, sizeof kSerial);
    want[0].data_unit = 512;
    for (u32 i = 0; i < 64; ++i) want[0].master_key[i] = static_cast<u8>(i * 7 + 1);
    if (setup & 4) want[0].plaintext[want[0].plaintext_count++] = LbaRange{Lba{u64{setup} >> 4}, Lba{(u64{setup} >> 4) + 3}};
    if (last_encrypted != int{encrypted} || memcmp(want, keys, sizeof keys) != 0) {
        memcpy(keys, want, sizeof keys);
        check(ok(sector_crypt_set_keys(keys, encrypted ? 1 : 0, encrypted)), "keys set up");
        last_encrypted = encrypted;
    }

    static BouncePool* pool = new BouncePool;
    static AhciHba* hba = new AhciHba;
    new (pool) BouncePool{};  // in place: an AhciHba is too big for a temporary on the stack
    new (hba) AhciHba{};
    pool->init(DmaMem{pool_mem, Hpa{reinterpret_cast<u64>(pool_mem)}}, kPoolPages);
    hba->init(m, pool);
    if (!hba->attach_port(0, DmaMem{port_mem, Hpa{reinterpret_cast<u64>(port_mem)}}, reinterpret_cast<PrdEntry*>(prd_mem)))
        return 0;
    while (in.n) {
        u8 const op = in.take<u8>();
        switch (op % 8) {
            case 0: {  // a register write: port 0's mostly, anywhere in the ABAR at times
                u32 const off = (op & 0xE0) == 0xE0 ? in.take<u16>() & 0x1FFCu
                                                    : port_reg(0, kPortRegs[in.take<u8>() % (sizeof kPortRegs / 4)]);
                u32 v = in.take<u32>();
                if ((op & 0x10) && off == port_reg(0, kPxClb)) v = (op & 0x08) ? static_cast<u32>(aim(in)) : kClb;
                if ((op & 0x10) && off == port_reg(0, kPxFb)) v = (op & 0x08) ? static_cast<u32>(aim(in)) : kFb;
                hba->write_sized(off + (op >> 5 & 3), static_cast<u8>(1u << (in.take<u8>() & 3)), v);
                break;
            }
            case 1: (void)hba->read_sized(port_reg(0, kPortRegs[in.take<u8>() % (sizeof kPortRegs / 4)]), 4); break;
            case 2: {  // a command header in slot s of the list at kClb
                u32 const s = in.take<u8>() % kSlots;
                CommandHeader h{};
                h.flags = static_cast<u16>(5 | (in.take<u16>() & ~kHdrCflMask));
                h.prdtl = static_cast<u16>(in.take<u8>() % 4 ? in.take<u8>() % 5 : in.take<u16>());
                h.ctba = static_cast<u32>((op & 0x80) ? aim(in) : kTables + s * 0x100);
                memcpy(m->ram + kClb + s * sizeof h, &h, sizeof h);
                break;
            }
            case 3: {  // a command FIS in slot s's table
                u32 const s = in.take<u8>() % kSlots;
                static constexpr u8 kCmds[] = {0xEC, 0x25, 0x35, 0xC8, 0xCA, 0x60, 0x61, 0x20, 0x30, 0xE7, 0x06, 0xF4};
                FisH2d f{};
                f.type = (op & 0x80) ? in.take<u8>() : kFisH2d;
                f.flags = kFisH2dCommand;
                f.command = (op & 0x40) ? in.take<u8>() : kCmds[in.take<u8>() % sizeof kCmds];
                f.lba0 = in.take<u8>();
                f.lba1 = in.take<u8>() & 0x0F;
                f.device = 0x40;
                f.count_lo = in.take<u8>() % 17;
                f.features_lo = in.take<u8>() % 17;
                memcpy(m->ram + kTables + s * 0x100, &f, sizeof f);
                break;
            }
            case 4: {  // a PRD in slot s's table
                u32 const s = in.take<u8>() % kSlots;
                u32 const i = in.take<u8>() % 8;
                PrdEntry e{};
                u64 const a = (op & 0x80) ? aim(in) : 0x40000 + (in.take<u16>() & ~1u);
                e.dba = static_cast<u32>(a);
                e.dbau = (op & 0x40) ? in.take<u32>() : 0;
                e.dbc = (op & 0x20) ? in.take<u32>() : (in.take<u16>() | 1u) & 0x1FFF;
                memcpy(m->ram + kTables + s * 0x100 + 0x80 + i * sizeof e, &e, sizeof e);
                break;
            }
            case 5: {  // raw bytes anywhere in guest RAM
                u32 const at = in.take<u32>() % kRam;
                u8 const len = in.take<u8>() % 32;
                for (u8 k = 0; k < len && at + k < kRam; ++k) m->ram[at + k] = in.take<u8>();
                break;
            }
            case 6: m->run(); break;
            case 7:
                if (op & 0x80) m->finish_ncq(in.take<u32>());
                hba->poll_all();
                break;
        }
    }
    return 0;
}
