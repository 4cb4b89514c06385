// The AoE disk's storage as the emulated ATA device sees it: synchronous sector reads and
// writes. AoeBlock runs them on the AoE initiator: it submits one request and keeps the
// network moving (FramePort poll + initiator timers) until the request finishes, so a guest
// command completes inside the exit that started it, with the guest frozen meanwhile. The
// initiator retransmits through an outage (a restarted target announces itself and gets the
// frames again at once); only after its deadline ([aoe] timeout_ms) does the request fail.
//
// Pure: the network is reached through aoe::FrameTx and DiskPoller, time through aoe::Clock,
// so host tests run it against the in-process fake target (tests/unit/test_aoe_disk_*.cpp).
#pragma once

#include "aoe/initiator.hpp"
#include "core/types.hpp"

namespace tv::ata {

enum class DiskFault : u8 {
    None,
    TimedOut,     // the target stayed silent for the whole deadline
    TargetError,  // AoE error flag, or the request could not be submitted
    DeviceError,  // the target's ATA status said ERR: status/error as it sent them
    Range,        // past the end of the disk (never sent)
    Refused,      // the storage pipeline refused the sectors (no usable key; never sent)
};

struct DiskResult {
    DiskFault fault;
    u8 ata_status;
    u8 ata_error;
    Lba lba;  // the first sector that failed

    bool ok() const { return fault == DiskFault::None; }
};

char const* disk_fault_name(DiskFault f);

class BlockDevice {
  public:
    virtual u64 sectors() const = 0;
    [[nodiscard]] virtual DiskResult read(Lba lba, u32 count, u8* buf) = 0;
    [[nodiscard]] virtual DiskResult write(Lba lba, u32 count, u8 const* buf) = 0;

  protected:
    ~BlockDevice() = default;
};

// Hands received frames to the initiator (the monitor: FramePort::poll, whose AoE receiver
// calls Initiator::on_frame). Must not block.
class DiskPoller {
  public:
    virtual void poll() = 0;

  protected:
    ~DiskPoller() = default;
};

class AoeBlock final : public BlockDevice {
  public:
    // timeout_us: how long one request may wait for the target in all (also the wait for a
    // target that went back to discovery). The initiator's own deadline should be the same.
    void init(aoe::Initiator* ini, aoe::Clock* clock, DiskPoller* poller, u64 timeout_us);
    // Before the guest runs: pumps until the initiator is Ready (target found, size known).
    [[nodiscard]] bool wait_ready(u64 timeout_us);

    u64 sectors() const override { return ini_->sectors(); }
    [[nodiscard]] DiskResult read(Lba lba, u32 count, u8* buf) override;
    [[nodiscard]] DiskResult write(Lba lba, u32 count, u8 const* buf) override;

    u64 requests() const { return requests_; }
    u64 failures() const { return failures_; }

  private:
    [[nodiscard]] DiskResult run(aoe::Op op, Lba lba, u32 count, u8* buf);
    void pump();
    static void done(void* ctx, aoe::Result const& r);

    aoe::Initiator* ini_{nullptr};
    aoe::Clock* clock_{nullptr};
    DiskPoller* poller_{nullptr};
    u64 timeout_us_{0};
    bool finished_{false};
    aoe::Result result_{};
    u64 requests_{0};
    u64 failures_{0};
};

}  // namespace tv::ata
