// Test doubles for the AoE initiator: a settable clock, a transmitter that keeps every frame,
// and a scripted in-process target that answers like vblade (32-byte Query Config reply,
// sector count 0 in ATA replies, IDNF beyond the end, BadArg above its sector limit).
// A Rig wires them to an Initiator; tests decide when replies arrive, in which order, or not.
#pragma once

#include <stdint.h>
#include <string.h>

#include <string>
#include <vector>

#include "aoe/initiator.hpp"

namespace tv::aoe::test {

using Bytes = std::vector<u8>;

struct FakeClock final : Clock {
    u64 now{1'000'000};
    u64 now_us() override { return now; }
};

struct CaptureTx final : FrameTx {
    std::vector<Bytes> sent;  // not yet taken by the test
    u64 total{0};
    Status result{Status::Ok};
    Initiator const* watch{nullptr};
    u32 peak_in_flight{0};

    Status send(u8 const* frame, size_t len) override {
        sent.emplace_back(frame, frame + len);
        ++total;
        if (watch != nullptr && watch->in_flight() > peak_in_flight)
            peak_in_flight = watch->in_flight();
        return result;
    }
};

inline Mac mac(u8 last) { return Mac{{0x02, 0x00, 0x00, 0x00, 0x00, last}}; }

inline Bytes build(Frame const& f) {
    Bytes out(Initiator::kMaxFrame + kMaxConfigString + 64);
    size_t len = 0;
    if (!ok(build_frame(f, out.data(), out.size(), &len)))
        return {};
    out.resize(len);
    return out;
}

// IDENTIFY DEVICE data as vblade fills it: sizes in words 60-61 and 100-103, LBA48 in 83.
inline Bytes identify_block(u64 sectors, bool lba48, char const* model = "Fake AoE target") {
    Bytes b(kSectorSize, 0);
    auto put = [&](unsigned w, u16 v) {
        b[2 * w] = static_cast<u8>(v);
        b[2 * w + 1] = static_cast<u8>(v >> 8);
    };
    u64 const lba28 = sectors < kLba28Limit ? sectors : kLba28Limit - 1;
    put(60, static_cast<u16>(lba28));
    put(61, static_cast<u16>(lba28 >> 16));
    put(83, lba48 ? 0x5400 : 0x4000);
    for (unsigned i = 0; i < 4; ++i)
        put(100 + i, lba48 ? static_cast<u16>(sectors >> (16 * i)) : u16{0});
    size_t const n = strlen(model);
    for (unsigned i = 0; i < 40; ++i)  // two characters a word, first in the high byte
        b[54 + (i ^ 1)] = static_cast<u8>(i < n ? model[i] : ' ');
    return b;
}

struct SeenCommand {
    u8 cmd;
    u64 lba;
    u8 count;
    bool extended;
    u32 tag;
};

class FakeTarget {
  public:
    Mac mac_addr{mac(0x77)};
    u16 shelf{1};
    u8 slot{2};
    u16 buffer_count{16};
    u8 max_sectors{2};
    bool lba48{true};
    u64 sectors{0};
    Bytes disk;  // holds at most kBacked sectors; the rest read as zero, writes vanish
    std::vector<SeenCommand> seen;
    u32 queries{0};

    static constexpr u64 kBacked = 8192;

    void set_disk(u64 n, u32 seed = 1) {
        sectors = n;
        size_t const bytes = static_cast<size_t>((n < kBacked ? n : kBacked) * kSectorSize);
        // The pattern of the last size and seed asked for is kept: the fuzzer builds a rig
        // per input, and filling the image byte by byte under coverage instrumentation was
        // most of its time. A copy is one memcpy.
        static Bytes last;
        static u32 last_seed;
        if (last.size() != bytes || last_seed != seed) {
            last.resize(bytes);
            for (size_t i = 0; i < bytes; ++i)
                last[i] = static_cast<u8>((i * 2654435761u + seed) >> 13);
            last_seed = seed;
        }
        disk = last;
    }

    // The target's answer to one frame the initiator sent; empty when it stays silent.
    Bytes answer(Bytes const& req) {
        Frame f{};
        if (parse_frame(req.data(), req.size(), &f) != ParseResult::Ok || (f.flags & kFlagResponse))
            return {};
        if ((f.shelf != shelf && f.shelf != kAnyShelf) || (f.slot != slot && f.slot != kAnySlot))
            return {};
        Frame r = f;
        r.dst = f.src;
        r.src = mac_addr;
        r.shelf = shelf;
        r.slot = slot;
        r.flags = kFlagResponse;
        r.payload = nullptr;
        r.payload_len = 0;
        if (f.command == Command::QueryConfig)
            return config_reply(r);
        return ata_reply(f, r);
    }

    Bytes config_reply(Frame r) {
        ++queries;
        r.config = ConfigFields{buffer_count, 0x4019, max_sectors, kVersion, ConfigCmd::Read, 0};
        Bytes b = build(r);
        b.resize(kConfigHeaderLen);  // vblade sends it unpadded
        return b;
    }

    // What a target broadcasts when it starts. vblade leaves the version nibble at 0.
    Bytes announcement(bool versionless = false) {
        Frame r{};
        r.dst = kBroadcastMac;
        r.src = mac_addr;
        r.shelf = shelf;
        r.slot = slot;
        r.flags = kFlagResponse;
        r.command = Command::QueryConfig;
        r.tag = 0;
        Bytes b = config_reply(r);
        if (versionless)
            b[14] &= 0x0F;
        return b;
    }

    Bytes ata_reply(Frame const& f, Frame r) {
        bool const ext = (f.ata.aflags & kAflagExtended) != 0;
        u64 const lba = ext ? f.ata.lba & (kLba48Limit - 1) : f.ata.lba & (kLba28Limit - 1);
        u8 const n = f.ata.sector_count;
        seen.push_back(SeenCommand{f.ata.cmd_status, lba, n, ext, f.tag});
        Bytes data;
        r.ata.sector_count = 0;
        r.ata.err_feature = 0;
        r.ata.cmd_status = kAtaStatusReady;
        switch (static_cast<AtaCmd>(f.ata.cmd_status)) {
        case AtaCmd::IdentifyDevice:
            data = identify_block(sectors, lba48);
            break;
        case AtaCmd::ReadSectors:
        case AtaCmd::ReadSectorsExt:
        case AtaCmd::WriteSectors:
        case AtaCmd::WriteSectorsExt:
            if (n > max_sectors) {  // vblade: BadArg with the error flag
                r.flags |= kFlagError;
                r.error = static_cast<u8>(TargetError::BadArgument);
                return build(r);
            }
            if (lba + n > sectors) {
                r.ata.cmd_status = kAtaStatusReady | kAtaStatusError;
                r.ata.err_feature = 0x10;  // IDNF
                r.ata.sector_count = n;
                return build(r);
            }
            if ((f.ata.aflags & kAflagWrite) != 0)
                write(lba, f.payload, n);
            else
                data = read(lba, n);
            r.ata.lba = f.ata.lba + n;
            break;
        default:
            r.ata.cmd_status = kAtaStatusReady | kAtaStatusError;
            r.ata.err_feature = 0x04;  // ABRT
        }
        r.payload = data.empty() ? nullptr : data.data();
        r.payload_len = data.size();
        return build(r);
    }

    Bytes read(u64 lba, u64 n) const {
        Bytes out(static_cast<size_t>(n * kSectorSize), 0);
        for (u64 i = 0; i < out.size(); ++i)
            if (lba * kSectorSize + i < disk.size())
                out[i] = disk[lba * kSectorSize + i];
        return out;
    }

    void write(u64 lba, u8 const* data, u64 n) {
        for (u64 i = 0; i < n * kSectorSize; ++i)
            if (lba * kSectorSize + i < disk.size())
                disk[lba * kSectorSize + i] = data[i];
    }
};

struct Completion {
    int calls{0};
    Result result{};
    static void done(void* ctx, Result const& r) {
        auto* c = static_cast<Completion*>(ctx);
        ++c->calls;
        c->result = r;
    }
};

class Rig {
  public:
    FakeClock clock;
    CaptureTx tx;
    FakeTarget target;
    Initiator ini;
    std::vector<LogRecord> logs;
    Config cfg;

    explicit Rig(u64 disk_sectors = 4096) {
        target.set_disk(disk_sectors);
        cfg.local_mac = mac(0x11);
        cfg.shelf = target.shelf;
        cfg.slot = target.slot;
        tx.watch = &ini;
    }

    Status init() {
        Status const s = ini.init(cfg, tx, clock);
        ini.set_log(&Rig::on_log, this);
        return s;
    }

    static void on_log(void* ctx, LogRecord const& r) { static_cast<Rig*>(ctx)->logs.push_back(r); }

    std::vector<Bytes> take_sent() {
        std::vector<Bytes> out;
        out.swap(tx.sent);
        return out;
    }

    // Hands everything sent so far to the target and returns its answers, undelivered.
    std::vector<Bytes> exchange() {
        std::vector<Bytes> replies;
        for (Bytes const& f : take_sent()) {
            Bytes r = target.answer(f);
            if (!r.empty())
                replies.push_back(std::move(r));
        }
        return replies;
    }

    void deliver(Bytes const& f) { ini.on_frame(f.data(), f.size()); }

    void advance(u64 us) {
        clock.now += us;
        ini.poll(clock.now);
    }

    // A lossless network with a fixed round trip: runs until nothing is in flight.
    void settle(u64 rtt_us = 100, int max_rounds = 100000) {
        for (int i = 0; i < max_rounds; ++i) {
            std::vector<Bytes> replies = exchange();
            if (replies.empty() && ini.in_flight() == 0 && ini.state() != State::Discovering)
                return;
            clock.now += rtt_us;
            for (Bytes const& r : replies)
                deliver(r);
            ini.poll(clock.now);
        }
    }

    bool bring_up() {
        if (!ok(init()))
            return false;
        ini.start();
        settle();
        return ini.state() == State::Ready;
    }

    Status submit(Op op, u64 lba, u32 count, u8* buf, Completion& c) {
        return ini.submit(IoRequest{op, lba, count, buf, &Completion::done, &c});
    }

    u64 refused(Refusal r) const { return ini.counters().refused[static_cast<size_t>(r)]; }

    bool logged(Refusal r) const {
        for (LogRecord const& l : logs)
            if (l.event == Event::Refused && l.refusal == r)
                return true;
        return false;
    }

    bool accounting_balances() const {
        Counters const& c = ini.counters();
        return c.rx_frames == c.accepted + c.ignored + c.refused_total();
    }
};

}  // namespace tv::aoe::test
