// A fake machine for the AHCI mediator's host tests: guest RAM as a byte array (with a range
// playing the monitor's memory), and a fake HBA with one port whose "device" executes the
// commands it finds in the structures PxCLB points at, like a DMA engine would. Device
// addresses of monitor memory are host pointers, so the fake device reads exactly what the
// mediator built.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>

#include <functional>
#include <string>
#include <vector>

#include "drivers/ahci/ahci_hba.hpp"

namespace tv::ata::ahci::test {

inline constexpr u64 kRamBytes = 8ull << 20;
inline constexpr u64 kMonBase = 6ull << 20;  // guest-physical range the monitor owns
inline constexpr u64 kMonEnd = 7ull << 20;

struct Refusal {
    u32 slot;
    u8 command;
    std::string why;
};

class FakeMachine final : public AhciEnv {
  public:
    std::vector<u8> ram = std::vector<u8>(kRamBytes);
    u32 regs[0x200 / 4 + kPortStride / 4]{};  // HBA registers and port 0
    std::vector<u8> disk;
    u32 sector = 512;
    char serial[21] = "QM00001";
    std::vector<Refusal> refusals;
    std::vector<u8> executed;  // commands the fake device ran, in order
    u32 ncq_done_pending = 0;  // NCQ tags accepted, data moved, SDB not yet sent

    FakeMachine() {
        regs[kPi / 4] = 1;
        port(kPxSig) = 0x101;
        disk.resize(1 << 20);
        for (size_t i = 0; i < disk.size(); ++i) disk[i] = static_cast<u8>(i * 7 + 3);
    }

    u32& port(u32 reg) { return regs[port_reg(0, reg) / 4]; }

    // ---- AhciEnv ----
    u32 dev_read(u32 off) override {
        if (read_hook && off == read_hook_off && read_hook_before) run_read_hook();
        u32 const v = off / 4 < std::size(regs) ? regs[off / 4] : 0;
        if (read_hook && off == read_hook_off) run_read_hook();
        return v;
    }
    // Runs act once, at the next device read of off: just before the value is taken
    // (before), or just after (a completion racing the monitor's register read).
    void on_read(u32 off, bool before, std::function<void()> act) {
        read_hook_off = off;
        read_hook_before = before;
        read_hook = std::move(act);
    }
    void dev_write(u32 off, u32 v) override {
        if (off / 4 >= std::size(regs)) return;
        if (off == port_reg(0, kPxCi)) {
            port(kPxCi) |= v;
            doorbell_trapped.push_back(!reads_direct);
        }
        else if (off == port_reg(0, kPxSact)) port(kPxSact) |= v;
        else if (off == port_reg(0, kPxIs) || off == port_reg(0, kPxSerr)) regs[off / 4] &= ~v;
        else if (off == port_reg(0, kPxCmd)) {
            u32 running = (v & kCmdSt ? 1u << 15 : 0) | (v & kCmdFre ? 1u << 14 : 0);
            port(kPxCmd) = (v & 0x3FFF) | running;
            if (!(v & kCmdSt)) port(kPxCi) = port(kPxSact) = 0;
        } else regs[off / 4] = v;
    }
    bool guest_ok(Gpa g, u64 len) override {
        u64 const gpa = g.raw;
        u64 end = gpa + len;
        return len && end >= gpa && end <= kRamBytes && (end <= kMonBase || gpa >= kMonEnd);
    }
    bool guest_read(Gpa gpa, void* dst, u64 len) override {
        if (!guest_ok(gpa, len)) return false;
        memcpy(dst, &ram[gpa.raw], len);
        return true;
    }
    bool guest_write(Gpa gpa, void const* src, u64 len) override {
        if (!guest_ok(gpa, len)) return false;
        memcpy(&ram[gpa.raw], src, len);
        return true;
    }
    void refused(u32, u32 slot, u8 command, char const* why) override { refusals.push_back({slot, command, why}); }
    void note(u32, char const*) override {}
    // The monitor's read-only ABAR mapping, modelled: sync_reads() after each access widens
    // it as the monitor does; trap_reads() narrows it. doorbell_trapped records, for every
    // PxCI write that reached the device, whether reads exited at that moment.
    void trap_reads() override { reads_direct = false; }
    bool reads_direct = false;
    std::function<void()> read_hook;
    u32 read_hook_off = 0;
    bool read_hook_before = false;
    void run_read_hook() {
        auto act = std::move(read_hook);
        read_hook = nullptr;
        act();
    }
    std::vector<bool> doorbell_trapped;
    void sync_reads(AhciHba& hba) { reads_direct = hba.quiet(); }

    // ---- the fake device ----
    // Monitor memory is a host pointer; a device address below kRamBytes is guest RAM (the
    // zero-copy path), and must be guest RAM outside the monitor's range.
    template <class T>
    T* at(u64 dev) {
        if (dev < kRamBytes) {
            EXPECT_TRUE(guest_ok(Gpa{dev}, 1)) << "device DMA into the monitor's range at " << dev;
            return reinterpret_cast<T*>(&ram[dev]);
        }
        return reinterpret_cast<T*>(dev);
    }

    u64 clb() { return port(kPxClb) | u64{port(kPxClbu)} << 32; }
    u64 fb() { return port(kPxFb) | u64{port(kPxFbu)} << 32; }

    // Runs every issued slot. NCQ: data moved and PxCI cleared now, PxSACT only in finish_ncq.
    void run() {
        for (u32 s = 0; s < kSlots; ++s)
            if (port(kPxCi) >> s & 1) run_slot(s);
    }
    void finish_ncq(u32 tags) {
        tags &= ncq_done_pending;
        ncq_done_pending &= ~tags;
        port(kPxSact) &= ~tags;
        ReceivedFis* f = at<ReceivedFis>(fb());
        f->sdbfis = FisSdb{kFisSdb, 0x40, 0x40, 0, tags};
        port(kPxIs) |= 1u << 3;
    }

  private:
    void transfer(CommandHeader* h, u64 disk_off, u64 bytes, bool to_disk) {
        auto* table = at<u8>(h->ctba | u64{h->ctbau} << 32);
        auto* prd = reinterpret_cast<PrdEntry*>(table + 0x80);
        u64 done = 0;
        for (u32 i = 0; i < h->prdtl && done < bytes; ++i) {
            u64 len = (prd[i].dbc & kPrdDbcMask) + 1;
            if (len > bytes - done) len = bytes - done;
            u8* mem = at<u8>(prd[i].dba | u64{prd[i].dbau} << 32);
            if (to_disk) memcpy(&disk[disk_off + done], mem, len);
            else memcpy(mem, &disk[disk_off + done], len);
            done += len;
        }
        h->prdbc = static_cast<u32>(done);
    }

    // READ LOG EXT: page bytes that name their log address, so a test can tell them from sectors.
    void log_pages(CommandHeader* h, u8 log, u64 bytes) {
        auto* prd = reinterpret_cast<PrdEntry*>(at<u8>(h->ctba | u64{h->ctbau} << 32) + 0x80);
        u64 done = 0;
        for (u32 i = 0; i < h->prdtl && done < bytes; ++i) {
            u64 len = (prd[i].dbc & kPrdDbcMask) + 1;
            if (len > bytes - done) len = bytes - done;
            u8* mem = at<u8>(prd[i].dba | u64{prd[i].dbau} << 32);
            for (u64 j = 0; j < len; ++j) mem[j] = static_cast<u8>(log ^ (done + j));
            done += len;
        }
        h->prdbc = static_cast<u32>(done);
    }

    void identify(CommandHeader* h) {
        u16 id[256]{};
        char pad[20];
        memset(pad, ' ', 20);
        memcpy(pad, serial, strlen(serial));
        for (int i = 0; i < 10; ++i) id[10 + i] = static_cast<u16>(pad[2 * i] << 8 | pad[2 * i + 1]);
        if (sector == 4096) {
            id[106] = 0x4000 | 0x1000;
            id[117] = 2048;
            id[118] = 0;
        }
        auto* table = at<u8>(h->ctba | u64{h->ctbau} << 32);
        auto* prd = reinterpret_cast<PrdEntry*>(table + 0x80);
        memcpy(at<u8>(prd[0].dba | u64{prd[0].dbau} << 32), id, 512);
        h->prdbc = 512;
    }

    void run_slot(u32 s) {
        auto* h = at<CommandHeader>(clb()) + s;
        auto* table = at<u8>(h->ctba | u64{h->ctbau} << 32);
        FisH2d f;
        memcpy(&f, table, sizeof f);
        executed.push_back(f.command);
        u64 lba = u64{f.lba0} | u64{f.lba1} << 8 | u64{f.lba2} << 16 | u64{f.lba3} << 24;
        u32 count = f.count_lo | f.count_hi << 8;
        u8 status = 0x40, error = 0;
        switch (f.command) {
        case 0xEC: identify(h); break;
        case 0x2F: log_pages(h, f.lba0, u64{count ? count : 65536u} * 512); break;
        case 0x25: transfer(h, lba * sector, u64{count} * sector, false); break;
        case 0x35: transfer(h, lba * sector, u64{count} * sector, true); break;
        case 0x60:
        case 0x61: {
            u32 n = f.features_lo | f.features_hi << 8;
            transfer(h, lba * sector, u64{n} * sector, f.command == 0x61);
            port(kPxCi) &= ~(1u << s);
            ncq_done_pending |= 1u << s;
            return;
        }
        default: status = 0x41, error = 0x04; break;  // NOP and anything else: aborted
        }
        ReceivedFis* rf = at<ReceivedFis>(fb());
        rf->rfis = FisD2h{};
        rf->rfis.type = kFisD2h;
        rf->rfis.status = status;
        rf->rfis.error = error;
        port(kPxTfd) = u32{error} << 8 | status;
        if (error) {
            port(kPxIs) |= 1u << 30;  // TFES; the slot stays in PxCI, as on real HBAs
            return;
        }
        port(kPxIs) |= 1u;
        port(kPxCi) &= ~(1u << s);
    }
};

// Monitor memory for the mediator (host heap, 4 KiB aligned).
struct MonitorMemory {
    explicit MonitorMemory(u64 bytes) : ptr{static_cast<u8*>(aligned_alloc(4096, align_up(bytes, 4096)))} {
        memset(ptr, 0, align_up(bytes, 4096));
    }
    ~MonitorMemory() { free(ptr); }
    DmaMem dma() const { return DmaMem{ptr, Hpa{reinterpret_cast<u64>(ptr)}}; }
    u8* ptr;
};

// The guest's side: a driver building command lists in FakeMachine::ram.
struct GuestDriver {
    static constexpr u64 kClb = 0x10000, kFb = 0x11000, kTables = 0x20000, kBuf = 0x100000;

    FakeMachine& m;
    AhciHba& hba;

    void start() {
        hba.write(port_reg(0, kPxClb), kClb);
        hba.write(port_reg(0, kPxClbu), 0);
        hba.write(port_reg(0, kPxFb), kFb);
        hba.write(port_reg(0, kPxFbu), 0);
        hba.write(port_reg(0, kPxCmd), kCmdFre);
        hba.write(port_reg(0, kPxCmd), kCmdFre | kCmdSt);
    }
    u64 table(u32 s) const { return kTables + s * 0x1000; }
    CommandHeader& header(u32 s) { return *reinterpret_cast<CommandHeader*>(&m.ram[kClb + s * 32]); }
    FisH2d& fis(u32 s) { return *reinterpret_cast<FisH2d*>(&m.ram[table(s)]); }
    PrdEntry& prd(u32 s, u32 i) { return *reinterpret_cast<PrdEntry*>(&m.ram[table(s) + 0x80 + i * 16]); }

    // A command in slot s with one PRD of bytes at buf (none for bytes 0).
    void build(u32 s, u8 command, u64 lba, u16 count, u64 buf, u32 bytes, bool write, u16 features = 0) {
        header(s) = CommandHeader{};
        header(s).flags = static_cast<u16>(5 | (write ? kHdrWrite : 0));
        header(s).prdtl = bytes ? 1 : 0;
        header(s).ctba = static_cast<u32>(table(s));
        FisH2d f{};
        f.type = kFisH2d;
        f.flags = kFisH2dCommand;
        f.command = command;
        f.lba0 = static_cast<u8>(lba), f.lba1 = static_cast<u8>(lba >> 8), f.lba2 = static_cast<u8>(lba >> 16);
        f.lba3 = static_cast<u8>(lba >> 24);
        f.device = 0x40;
        f.count_lo = static_cast<u8>(count), f.count_hi = static_cast<u8>(count >> 8);
        f.features_lo = static_cast<u8>(features), f.features_hi = static_cast<u8>(features >> 8);
        fis(s) = f;
        if (bytes) prd(s, 0) = PrdEntry{static_cast<u32>(buf), static_cast<u32>(buf >> 32), 0, bytes - 1};
    }
    void ncq(u32 s, bool write, u64 lba, u16 sectors, u64 buf, u32 sector_bytes = 512) {
        build(s, write ? 0x61 : 0x60, lba, static_cast<u16>(s << 3), buf, sectors * sector_bytes, write, sectors);
    }
    void issue(u32 bits, bool ncq = false) {
        if (ncq) hba.write(port_reg(0, kPxSact), bits);
        hba.write(port_reg(0, kPxCi), bits);
    }
    u32 ci() { return hba.read(port_reg(0, kPxCi)); }
    u32 sact() { return hba.read(port_reg(0, kPxSact)); }
    void identify() {
        build(31, 0xEC, 0, 0, 0x300000, 512, false);
        issue(1u << 31);
        m.run();
        EXPECT_EQ(ci(), 0u);
    }
};

}  // namespace tv::ata::ahci::test
