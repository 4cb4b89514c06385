#include "drivers/aoe_disk/aoe_disk_block.hpp"

namespace tv::ata {

char const* disk_fault_name(DiskFault f) {
    switch (f) {
        case DiskFault::None: return "ok";
        case DiskFault::TimedOut: return "target timed out";
        case DiskFault::TargetError: return "target refused the request";
        case DiskFault::DeviceError: return "target reported an ATA error";
        case DiskFault::Range: return "past the end of the disk";
        case DiskFault::Refused: return "refused by the disk's key policy";
    }
    return "?";
}

void AoeBlock::init(aoe::Initiator* ini, aoe::Clock* clock, DiskPoller* poller, u64 timeout_us) {
    ini_ = ini;
    clock_ = clock;
    poller_ = poller;
    timeout_us_ = timeout_us;
}

void AoeBlock::pump() {
    poller_->poll();
    ini_->poll(clock_->now_us());
}

bool AoeBlock::wait_ready(u64 timeout_us) {
    u64 const until = clock_->now_us() + timeout_us;
    while (ini_->state() != aoe::State::Ready && clock_->now_us() < until) pump();
    return ini_->state() == aoe::State::Ready;
}

void AoeBlock::done(void* ctx, aoe::Result const& r) {
    auto* self = static_cast<AoeBlock*>(ctx);
    self->result_ = r;
    self->finished_ = true;
}

DiskResult AoeBlock::run(aoe::Op op, Lba lba, u32 count, u8* buf) {
    ++requests_;
    if (count == 0 || lba.raw >= sectors() || count > sectors() - lba.raw) {
        ++failures_;
        return DiskResult{DiskFault::Range, 0, 0, lba};
    }
    u64 const start = clock_->now_us();
    // The target may have gone back to discovery (a failed IDENTIFY after a restart): wait for
    // it inside the same budget rather than failing the guest's command at once.
    while (ini_->state() != aoe::State::Ready && clock_->now_us() - start < timeout_us_) pump();
    finished_ = false;
    if (!ok(ini_->submit(aoe::IoRequest{op, lba.raw, count, buf, &AoeBlock::done, this}))) {
        ++failures_;
        bool const ready = ini_->state() == aoe::State::Ready;
        return DiskResult{ready ? DiskFault::TargetError : DiskFault::TimedOut, 0, 0, lba};
    }
    // The initiator's deadline ends the request; this bound only guards against a deadline
    // configured longer than ours. start() fails every pending request, so the buffer is
    // never written after we return.
    u64 const bound = timeout_us_ + timeout_us_ / 2 + 1'000'000;
    while (!finished_) {
        pump();
        if (!finished_ && clock_->now_us() - start > bound) ini_->start();
    }
    aoe::Result const& r = result_;
    switch (r.outcome) {
        case aoe::Outcome::Ok: return DiskResult{DiskFault::None, 0, 0, Lba{0}};
        case aoe::Outcome::DeviceError:
            ++failures_;
            return DiskResult{DiskFault::DeviceError, r.ata_status, r.ata_error, Lba{r.lba}};
        case aoe::Outcome::TargetError:
            ++failures_;
            return DiskResult{DiskFault::TargetError, 0, 0, Lba{r.lba}};
        case aoe::Outcome::TimedOut:
        case aoe::Outcome::Aborted: break;
    }
    ++failures_;
    return DiskResult{DiskFault::TimedOut, 0, 0, Lba{r.lba}};
}

DiskResult AoeBlock::read(Lba lba, u32 count, u8* buf) { return run(aoe::Op::Read, lba, count, buf); }

DiskResult AoeBlock::write(Lba lba, u32 count, u8 const* buf) {
    // The initiator only reads a write's buffer.
    return run(aoe::Op::Write, lba, count, const_cast<u8*>(buf));
}

}  // namespace tv::ata
