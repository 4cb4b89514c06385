// A fake PIIX-style IDE channel with one disk, and fake guest/monitor physical memory, for
// the IDE mediator's host tests. The device is simple but strict about what it is told: it
// latches the taskfile, runs IDENTIFY, PIO and DMA reads/writes, CHECK POWER MODE, and aborts
// everything else. Its bus master runs a DMA transfer only when the test calls tick(), so a
// test can change guest memory between the start bit and the transfer; like PIIX, QEMU and
// Bochs, the engine takes its table pointer at the rising edge of start. The fake also keeps
// the port bitmap: the Rig sends an access to a port that does not exit straight to the
// device, as the CPU would, and counts the ones that exit.
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <functional>
#include <string>
#include <vector>

#include "crypto/xts.hpp"
#include "drivers/ide/ide_channel.hpp"
#include "tests/unit/fake_guest_ram.hpp"
#include <gtest/gtest.h>

namespace idefake {

using namespace tv;
using namespace tv::ata;

inline constexpr u16 kCmd = 0x1F0, kCtrl = 0x3F6, kBm = 0xC000;
inline constexpr u64 kRamEnd = 0x200000;                              // guest RAM: [0, 2 MiB)
inline constexpr u64 kHiddenBase = 0x108000, kHiddenEnd = 0x140000;  // the monitor's, inside it
inline constexpr u64 kMonPrd = 0x200000;                              // monitor pages after RAM
inline constexpr u64 kMonBounce = 0x210000;
inline constexpr u32 kBounceBytes = 0x80000;
inline constexpr u64 kPhysEnd = kMonBounce + kBounceBytes;

class FakeIde final : public IdeEnv, public fakes::LogLines {
  public:
    // 8192 sectors: IdeTaskfile rewrites the LBA to 0x1234 mid-command and reads that sector back.
    explicit FakeIde(u32 sector_size = 512, u32 sectors = 8192, char const* serial = "QM00001")
        : phys(kPhysEnd), disk(static_cast<size_t>(sector_size) * sectors), ss(sector_size), serial_(serial) {}

    // ---- IdeEnv ----
    u32 port_in(u16 port, u8 size) override;
    void port_out(u16 port, u8 size, u32 value) override;
    void port_in_words(u16 port, u16* buf, u32 n) override {
        for (u32 i = 0; i < n; ++i) buf[i] = static_cast<u16>(port_in(port, 2));
    }
    void port_out_words(u16 port, u16 const* buf, u32 n) override {
        for (u32 i = 0; i < n; ++i) port_out(port, 2, buf[i]);
    }
    bool guest_ram(Gpa gpa, u64 bytes) override {
        return fakes::in_guest_ram(gpa.raw, bytes, kRamEnd, kHiddenBase, kHiddenEnd);
    }
    u8* guest_ptr(Gpa gpa) override { return phys.data() + gpa.raw; }
    void log(char const* fmt, ...) override {
        va_list ap;
        va_start(ap, fmt);
        add(fmt, ap);
        va_end(ap);
    }
    bool set_port_intercept(u16 first, u16 count, bool on) override {
        if (!switchable) return false;
        for (u32 p = first; p < u32{first} + count; ++p) passed[p] = !on;
        ++switches;
        return true;
    }
    bool intercepted(u16 port) const { return !passed[port]; }

    DmaMemory dma_memory() {
        return DmaMemory{reinterpret_cast<PrdEntry*>(phys.data() + kMonPrd), tv::Hpa{kMonPrd},
                         phys.data() + kMonBounce, tv::Hpa{kMonBounce}, kBounceBytes};
    }
    // The bus master moves the data of a started DMA command, then interrupts.
    void tick();

    std::vector<u8> phys;
    std::vector<u8> disk;
    u32 ss;
    std::vector<u8> commands;  // every command the device was given, in order
    bool irq{false};
    u8 bm_status{0};
    u32 bm_prd{0};
    u32 bm_latched{0};  // the pointer the engine took at its last start edge
    u8 bm_cmd{0};
    u64 dma_lba_seen{~0ull};
    u32 dma_table_seen{~0u};  // the table the last transfer walked
    bool switchable{true};   // false: the monitor cannot switch interception (several vCPUs)
    u32 switches{0};
    std::vector<bool> passed = std::vector<bool>(0x10000, false);  // every port exits at first
    // Another CPU: runs once, right after the next device control write that clears HOB (the
    // monitor's last step in reading the taskfile back), and writes the device's ports.
    std::function<void()> second_writer;
    u8 exec_device{0};  // the device register and LBA the last command ran with
    u64 exec_lba{0};
    // A packet device (CD-ROM) instead of a disk: IDENTIFY DEVICE aborts with the ATAPI
    // signature; PACKET takes a 12-byte command block (every one kept in `cdbs`) and runs TEST
    // UNIT READY, REQUEST SENSE (its own sense: UNIT ATTENTION), READ(10) of 2048-byte blocks
    // (PIO, or DMA with the features DMA bit) and WRITE(10) (accepted, data dropped).
    bool atapi{false};
    std::vector<std::vector<u8>> cdbs;

  private:
    void execute(u8 op);
    void run_cdb();
    bool cdb_phase{false};
    u64 lba(bool ext) const;
    u32 count(bool ext) const;
    void complete(u8 status) {
        this->status = status;
        irq = true;
        bm_status |= ide::kBmIntr;
    }
    void identify();

    char const* serial_;
    u8 cur[8]{}, prev[8]{};
    u8 device{0xA0}, status{0x50}, error{0}, control{0};
    std::vector<u8> pio;  // PIO data to the host, or collected from it
    size_t pio_pos{0};
    bool pio_write{false};
    u64 pio_lba{0};
    bool dma_pending{false}, dma_write{false};
    u64 dma_lba{0};
    u32 dma_count{0};
};

inline u64 FakeIde::lba(bool ext) const {
    u64 v = cur[3] | static_cast<u64>(cur[4]) << 8 | static_cast<u64>(cur[5]) << 16;
    if (ext) return v | static_cast<u64>(prev[3]) << 24 | static_cast<u64>(prev[4]) << 32 | static_cast<u64>(prev[5]) << 40;
    return v | static_cast<u64>(device & 0x0F) << 24;
}

inline u32 FakeIde::count(bool ext) const {
    u32 n = ext ? (cur[2] | prev[2] << 8) : cur[2];
    return n ? n : (ext ? 65536u : 256u);
}

inline void FakeIde::identify() {
    u16 id[256] = {};
    char padded[20];
    memset(padded, ' ', sizeof padded);
    memcpy(padded, serial_, strlen(serial_));
    for (int i = 0; i < 10; ++i) id[10 + i] = static_cast<u16>(padded[2 * i] << 8 | padded[2 * i + 1]);
    if (ss != 512) {
        id[106] = 0x4000 | (1u << 12);
        id[117] = static_cast<u16>(ss / 2);
    }
    pio.assign(reinterpret_cast<u8*>(id), reinterpret_cast<u8*>(id) + 512);
}

inline void FakeIde::execute(u8 op) {
    commands.push_back(op);
    pio.clear();
    pio_pos = 0;
    error = 0;
    bool const ext = op == 0x24 || op == 0x34 || op == 0x25 || op == 0x35;
    exec_device = device;
    exec_lba = lba(ext);
    if (atapi && op == 0xEC) {
        cur[4] = 0x14;
        cur[5] = 0xEB;
        error = 0x04;
        complete(0x51);
        return;
    }
    switch (op) {
        case 0xA0:
            if (!atapi) break;
            pio.assign(12, 0);
            pio_write = true;
            cdb_phase = true;
            status = 0x58;
            return;
        case 0x08: dma_pending = false; pio.clear(); pio_write = cdb_phase = false; status = 0x00; return;
        case 0xEC: identify(); pio_write = false; complete(0x58); return;
        case 0x20: case 0x24: {
            u64 const at = lba(ext) * ss;
            pio.assign(disk.begin() + static_cast<long>(at), disk.begin() + static_cast<long>(at + count(ext) * ss));
            pio_write = false;
            complete(0x58);
            return;
        }
        case 0x30: case 0x34:
            pio.assign(static_cast<size_t>(count(ext)) * ss, 0);
            pio_lba = lba(ext);
            pio_write = true;
            status = 0x58;
            return;
        case 0xC8: case 0x25: case 0xCA: case 0x35:
            dma_pending = true;
            dma_write = op == 0xCA || op == 0x35;
            dma_lba = lba(ext);
            dma_count = count(ext);
            status = 0x58;
            return;
        case 0xE5: cur[2] = 0xFF; complete(0x50); return;
        case 0xE7: complete(0x50); return;
        default: break;
    }
    error = 0x04;
    complete(0x51);
}

inline void FakeIde::run_cdb() {
    std::vector<u8> const c = pio;
    cdbs.push_back(c);
    cdb_phase = pio_write = false;
    pio.clear();
    pio_pos = 0;
    bool const dma = cur[1] & 1;
    u32 const lba = static_cast<u32>(c[2] << 24 | c[3] << 16 | c[4] << 8 | c[5]);
    u32 const blocks = static_cast<u32>(c[7] << 8 | c[8]);
    switch (c[0]) {
        case 0x03:  // the device's own sense: UNIT ATTENTION
            pio = {0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x28, 0, 0, 0, 0, 0};
            status = 0x58;
            return;
        case 0x28:
            if (dma) {
                dma_pending = true;
                dma_write = false;
                dma_lba = static_cast<u64>(lba) * 2048 / ss;
                dma_count = blocks * 2048 / ss;
                status = 0x58;
                return;
            }
            pio.assign(disk.begin() + static_cast<long>(lba) * 2048, disk.begin() + static_cast<long>(lba + blocks) * 2048);
            status = 0x58;
            return;
        default: complete(0x50); return;  // TEST UNIT READY, WRITE(10)...: done
    }
}

inline void FakeIde::tick() {
    if (!dma_pending || !(bm_cmd & ide::kBmStart) || !(bm_status & ide::kBmActive)) return;
    dma_lba_seen = dma_lba;
    dma_table_seen = bm_latched;
    u64 at = dma_lba * ss, left = static_cast<u64>(dma_count) * ss;
    for (u32 i = 0; left; ++i) {  // the engine walks the table it was given, at run time
        PrdEntry e;
        memcpy(&e, phys.data() + bm_latched + 8 * i, 8);
        u64 n = e.bytes ? e.bytes : 0x10000;
        if (n > left) n = left;
        if (dma_write) memcpy(disk.data() + at, phys.data() + e.base, n);
        else memcpy(phys.data() + e.base, disk.data() + at, n);
        at += n;
        left -= n;
        if (e.flags & kPrdEot) break;
    }
    dma_pending = false;
    bm_status = static_cast<u8>(bm_status & ~ide::kBmActive);
    complete(0x50);
}

inline u32 FakeIde::port_in(u16 port, u8 size) {
    if (port == kCtrl) return status;
    if (port >= kBm && port < kBm + 8) {
        u16 const r = static_cast<u16>(port - kBm);
        if (r == 0) return bm_cmd;
        if (r == 2) return bm_status;
        if (r == 4) return bm_prd;
        return 0;
    }
    u16 const r = static_cast<u16>(port - kCmd);
    if (r == 0) {
        u32 v = 0;
        if (!pio_write && pio_pos + size <= pio.size()) {
            memcpy(&v, pio.data() + pio_pos, size);
            pio_pos += size;
            if (pio_pos == pio.size()) status = 0x50;
        }
        return v;
    }
    if (r == 1) return error;
    if (r == 6) return device;
    if (r >= 2 && r <= 5 && (control & 0x80)) return prev[r];  // HOB: the previous bytes
    if (r == 7) {
        irq = false;
        return status;
    }
    return cur[r];
}

inline void FakeIde::port_out(u16 port, u8 size, u32 value) {
    if (port == kCtrl) {
        control = static_cast<u8>(value);
        if (value & ide::kCtlSrst) {  // the command in progress is gone
            dma_pending = false;
            pio.clear();
            pio_write = false;
            status = 0x50;
        }
        if (second_writer && !(value & ide::kCtlHob)) {
            auto w = std::move(second_writer);
            second_writer = nullptr;
            w();
        }
        return;
    }
    if (port >= kBm && port < kBm + 8) {
        u16 const r = static_cast<u16>(port - kBm);
        if (r == 0) {
            if ((value & ide::kBmStart) && !(bm_cmd & ide::kBmStart)) bm_latched = bm_prd;
            bm_cmd = static_cast<u8>(value & 0x09);
            if (value & ide::kBmStart) bm_status |= ide::kBmActive;
            else bm_status = static_cast<u8>(bm_status & ~ide::kBmActive);
        } else if (r == 2) {
            bm_status = static_cast<u8>(bm_status & ~(value & 0x06));
        } else if (r == 4) {
            bm_prd = value;
        }
        return;
    }
    u16 const r = static_cast<u16>(port - kCmd);
    if (r == 0) {
        if (pio_write && pio_pos + size <= pio.size()) {
            memcpy(pio.data() + pio_pos, &value, size);
            pio_pos += size;
            if (pio_pos == pio.size() && cdb_phase) {
                run_cdb();
            } else if (pio_pos == pio.size()) {
                memcpy(disk.data() + pio_lba * ss, pio.data(), pio.size());
                pio_write = false;
                complete(0x50);
            }
        }
        return;
    }
    if (r == 6) {
        device = static_cast<u8>(value);
        return;
    }
    if (r == 7) {
        execute(static_cast<u8>(value));
        return;
    }
    prev[r] = cur[r];
    cur[r] = static_cast<u8>(value);
}

// ---- the guest side ----------------------------------------------------------------------

inline DiskKeyEntry g_keys[1];

inline void use_key(u32 unit, char const* serial = "QM00001") {
    DiskKeyEntry e{};
    strcpy(e.serial, serial);
    e.data_unit = unit;
    for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(0x40 + i * 3);
    g_keys[0] = e;
    ASSERT_EQ(sector_crypt_set_keys(g_keys, 1, true), Status::Ok);
}

inline std::vector<u8> xts(bool enc, u64 lba, std::vector<u8> data, u32 unit) {
    crypto::Xts x;
    EXPECT_EQ(x.set_key(g_keys[0].master_key), Status::Ok);
    u64 const n = data.size() / unit;
    Status s = enc ? x.encrypt_sectors(crypto::Lba{lba}, unit, data.data(), data.data(), n)
                   : x.decrypt_sectors(crypto::Lba{lba}, unit, data.data(), data.data(), n);
    EXPECT_EQ(s, Status::Ok);
    return data;
}

inline std::vector<u8> pattern(size_t n, u8 seed) {
    std::vector<u8> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<u8>(i * 13 + seed + (i >> 9));
    return v;
}

// A guest driver's view of the channel: every access goes through the mediator.
struct Rig {
    explicit Rig(u32 ss = 512, bool probe = true) : dev(ss) {
        ch.init(&dev, "ide0", IdePorts{kCmd, kCtrl, kBm}, dev.dma_memory());
        if (probe) ch.probe();
    }
    void out(u16 port, u8 size, u32 v) { access(port, false, size, &v); }
    u32 in(u16 port, u8 size = 1) {
        u32 v = 0;
        access(port, true, size, &v);
        return v;
    }
    void access(u16 port, bool in, u8 size, u32* v) {
        if (!dev.intercepted(port)) {  // no exit: the device itself
            if (in) *v = dev.port_in(port, size);
            else dev.port_out(port, size, *v);
            return;
        }
        ++exits;
        if (port >= kBm) ++bm_exits;
        if (port == kCtrl) ch.access(IdeBlock::Control, 0, in, size, v);
        else if (port >= kBm) ch.access(IdeBlock::BusMaster, static_cast<u8>(port - kBm), in, size, v);
        else ch.access(IdeBlock::Command, static_cast<u8>(port - kCmd), in, size, v);
    }
    void taskfile(u64 lba, u16 count, bool ext) {
        if (ext) {
            out(kCmd + 2, 1, count >> 8);
            out(kCmd + 3, 1, static_cast<u8>(lba >> 24));
            out(kCmd + 4, 1, static_cast<u8>(lba >> 32));
            out(kCmd + 5, 1, static_cast<u8>(lba >> 40));
        }
        out(kCmd + 2, 1, count & 0xFF);
        out(kCmd + 3, 1, static_cast<u8>(lba));
        out(kCmd + 4, 1, static_cast<u8>(lba >> 8));
        out(kCmd + 5, 1, static_cast<u8>(lba >> 16));
        out(kCmd + 6, 1, 0xE0 | (ext ? 0 : static_cast<u8>((lba >> 24) & 0xF)));
    }
    void prd(u64 table, std::vector<PrdEntry> const& entries) {
        memcpy(dev.phys.data() + table, entries.data(), entries.size() * sizeof(PrdEntry));
    }
    // Linux's order: pointer, direction, command, then start.
    void dma(u8 op, u64 lba, u16 count, u64 table, bool read) {
        out(kBm + 4, 4, static_cast<u32>(table));
        out(kBm, 1, read ? ide::kBmToMemory : 0);
        taskfile(lba, count, op == cmd::kReadDmaExt || op == cmd::kWriteDmaExt);
        out(kCmd + 7, 1, op);
        out(kBm, 1, (read ? ide::kBmToMemory : 0) | ide::kBmStart);
    }
    // The interrupt handler's first look, then the stop.
    u8 complete() {
        dev.tick();
        u8 const s = static_cast<u8>(in(kBm + 2));
        out(kBm, 1, 0);
        return s;
    }
    u8 status() { return static_cast<u8>(in(kCmd + 7)); }

    FakeIde dev;
    IdeChannel ch;
    u32 exits{0}, bm_exits{0};
};

inline void write_disk(Rig& r, u64 lba, std::vector<u8> const& bytes) {
    memcpy(r.dev.disk.data() + lba * r.dev.ss, bytes.data(), bytes.size());
}

inline std::vector<u8> disk_at(Rig& r, u64 lba, size_t n) {
    return std::vector<u8>(r.dev.disk.begin() + static_cast<long>(lba * r.dev.ss),
                           r.dev.disk.begin() + static_cast<long>(lba * r.dev.ss + n));
}

inline std::vector<u8> guest_at(Rig& r, u64 gpa, size_t n) {
    return std::vector<u8>(r.dev.phys.begin() + static_cast<long>(gpa), r.dev.phys.begin() + static_cast<long>(gpa + n));
}

}  // namespace idefake
