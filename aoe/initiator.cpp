#include "aoe/initiator.hpp"

#include <string.h>

namespace tv::aoe {

namespace {

// Tag layout. ATA frames: 0 | sequence (21 bits) | attempt (4 bits) | slot (6 bits). The
// sequence names one frame (it wraps only after 2^21 frames, far longer than any reply can
// linger), the slot finds it without a search, and the attempt says which transmission a reply
// answers, so a round trip is measured even after a retransmission. Query Config probes have
// the top bit set and never match a slot.
constexpr u32 kProbeBit = 1u << 31;
constexpr u32 kSeqBits = 21;
constexpr u32 kSeqMask = (1u << kSeqBits) - 1;
constexpr u8 kMaxAttempt = 15;
constexpr u64 kNever = ~0ull;
constexpr u32 kMaxDiscoverBackoff = 16;
static_assert(Initiator::kMaxWindow <= 64);

u32 tag_slot(u32 tag) { return tag & 0x3F; }
u8 tag_attempt(u32 tag) { return static_cast<u8>(tag >> 6 & 0xF); }
u32 tag_seq(u32 tag) { return tag >> 10 & kSeqMask; }
bool is_probe(u32 tag) { return (tag & kProbeBit) != 0; }

u64 since(u64 now, u64 then) { return now > then ? now - then : 0; }
u64 min64(u64 a, u64 b) { return a < b ? a : b; }

}  // namespace

char const* refusal_name(Refusal r) {
    static constexpr char const* kNames[kRefusalCount] = {
        "truncated",   "bad_version",    "unknown_command", "bad_length",
        "wrong_source", "wrong_target",  "unknown_tag",     "duplicate",
        "count_mismatch", "flag_mismatch", "error_flag",    "bad_config",
    };
    auto const i = static_cast<size_t>(r);
    return i < kRefusalCount ? kNames[i] : "?";
}

char const* event_name(Event e) {
    switch (e) {
    case Event::Refused: return "refused";
    case Event::TargetFound: return "target_found";
    case Event::Ready: return "ready";
    case Event::IdentifyFailed: return "identify_failed";
    case Event::Announcement: return "announcement";
    case Event::Retransmit: return "retransmit";
    case Event::TimedOut: return "timed_out";
    case Event::DeviceError: return "device_error";
    case Event::SendFailed: return "send_failed";
    }
    return "?";
}

u64 Counters::refused_total() const {
    u64 n = 0;
    for (u64 const r : refused)
        n += r;
    return n;
}

Status Initiator::init(Config const& cfg, FrameTx& tx, Clock& clock) {
    if (cfg.shelf == kAnyShelf || cfg.slot == kAnySlot)
        return Status::Invalid;
    if (cfg.mtu < kAtaHeaderLen + kSectorSize || cfg.mtu > kMaxMtu)
        return Status::Invalid;
    if (cfg.rto_min_us == 0 || cfg.rto_max_us < cfg.rto_min_us)
        return Status::Invalid;
    cfg_ = cfg;
    tx_ = &tx;
    clock_ = &clock;
    state_ = State::Idle;
    target_ = Target{};
    identify_ = IdentifyInfo{};
    window_ = cwnd_ = spf_ = 1;
    in_flight_ = 0;
    next_seq_ = 0;
    next_order_ = 0;
    discover_tries_ = 0;
    discover_at_us_ = 0;
    rtt_.init(RtoBounds{cfg.rto_initial_us, cfg.rto_min_us, cfg.rto_max_us});
    counters_ = Counters{};
    for (Pending& p : pending_)
        p = Pending{};
    for (Slot& s : slots_)
        s = Slot{};
    return Status::Ok;
}

void Initiator::set_log(LogFn fn, void* ctx) {
    log_fn_ = fn;
    log_ctx_ = ctx;
}

void Initiator::log(Event e, u32 tag, u64 value) {
    if (log_fn_ != nullptr)
        log_fn_(log_ctx_, LogRecord{e, Refusal::Count_, tag, value});
}

void Initiator::refuse(Refusal r, u32 tag) {
    ++counters_.refused[static_cast<size_t>(r)];
    if (log_fn_ != nullptr)
        log_fn_(log_ctx_, LogRecord{Event::Refused, r, tag, 0});
}

void Initiator::start() {
    if (tx_ == nullptr)
        return;
    state_ = State::Discovering;  // first, so completions cannot submit again
    for (u32 i = 0; i < kMaxRequests; ++i)
        if (pending_[i].used)
            fail_request(i, Result{Outcome::Aborted, TargetError::None, 0, 0, 0});
    target_ = Target{};
    discover_tries_ = 0;
    send_query(clock_->now_us());
}

void Initiator::send_query(u64 now) {
    Frame f{};
    f.dst = kBroadcastMac;
    f.src = cfg_.local_mac;
    f.shelf = cfg_.shelf;
    f.slot = cfg_.slot;
    f.command = Command::QueryConfig;
    f.tag = kProbeBit | (next_seq_++ & kSeqMask);
    f.config.aoe_version = kVersion;
    f.config.ccmd = ConfigCmd::Read;
    size_t len = 0;
    if (ok(build_frame(f, frame_buf_, sizeof frame_buf_, &len)) && ok(tx_->send(frame_buf_, len))) {
        ++counters_.tx_frames;
    } else {
        ++counters_.tx_errors;
        log(Event::SendFailed, f.tag, 0);
    }
    u32 const backoff = discover_tries_ < kMaxDiscoverBackoff ? discover_tries_ : kMaxDiscoverBackoff;
    discover_at_us_ = now + rtt_.backed_off_us(backoff);
    ++discover_tries_;
}

void Initiator::on_frame(u8 const* bytes, size_t len) {
    if (tx_ == nullptr)
        return;
    ++counters_.rx_frames;
    Frame f{};
    ParseResult const pr = parse_frame(bytes, len, &f);
    if (pr == ParseResult::NotAoe) {
        ++counters_.ignored;
        return;
    }
    // Requests from other initiators and replies addressed to other hosts are normal traffic
    // on a shared segment: not ours to refuse.
    bool const header_ok = len >= kHeaderLen;
    if (header_ok && ((f.flags & kFlagResponse) == 0 ||
                      (f.dst != cfg_.local_mac && f.dst != kBroadcastMac))) {
        ++counters_.ignored;
        return;
    }
    u64 const now = clock_->now_us();
    switch (pr) {
    case ParseResult::Ok: break;
    case ParseResult::BadVersion:
        if (is_versionless_announcement(f, len)) {
            if (f.shelf != cfg_.shelf || f.slot != cfg_.slot) {  // another target restarted
                ++counters_.ignored;
                return;
            }
            if (f.src == target_.mac && (state_ == State::Identifying || state_ == State::Ready))
                return announced(f, now);
        }
        return refuse(Refusal::BadVersion, f.tag);
    case ParseResult::UnknownCommand: return refuse(Refusal::UnknownCommand, f.tag);
    case ParseResult::BadLength: return refuse(Refusal::BadLength, f.tag);
    default: return refuse(Refusal::Truncated, f.tag);
    }
    if (f.command == Command::QueryConfig)
        on_config(f, now);
    else
        on_ata(f, now);
}

void Initiator::on_config(Frame const& f, u64 now) {
    if (f.shelf != cfg_.shelf || f.slot != cfg_.slot) {  // another target on the segment
        ++counters_.ignored;
        return;
    }
    if ((f.flags & kFlagError) != 0)
        return refuse(Refusal::ErrorFlag, f.tag);
    if (f.config.ccmd != ConfigCmd::Read || f.config.aoe_version != kVersion)
        return refuse(Refusal::BadConfig, f.tag);
    if (state_ == State::Discovering) {
        ++counters_.accepted;
        return adopt_target(f);
    }
    if (state_ == State::Idle) {
        ++counters_.ignored;
        return;
    }
    if (f.src != target_.mac)  // someone else claims our shelf.slot
        return refuse(Refusal::WrongSource, f.tag);
    if (is_probe(f.tag)) {  // a late answer to one of our discovery probes
        ++counters_.accepted;
        return;
    }
    announced(f, now);
}

// The target announces itself when it (re)starts: whatever is in flight was lost with the
// old instance, so resend it now instead of waiting out a backed-off timeout.
void Initiator::announced(Frame const& f, u64 now) {
    ++counters_.accepted;
    ++counters_.announcements;
    log(Event::Announcement, f.tag, in_flight_);
    for (Slot& s : slots_) {
        if (s.used) {
            s.timeout_us = now;
            s.backoff = 0;  // a live target: if this resend is lost, try again soon
        }
    }
}

// vblade (up to at least release 25) sends its start-up announcement with the version nibble
// left at 0. Such a frame is only used as the hint to resend now when it comes from our
// target, or ignored when it is another target's; anything else with a wrong version is
// refused.
bool Initiator::is_versionless_announcement(Frame const& f, size_t len) const {
    return f.version == 0 && f.command == Command::QueryConfig && len >= kConfigHeaderLen &&
           (f.flags & kFlagError) == 0;
}

void Initiator::adopt_target(Frame const& f) {
    target_ = Target{f.src, f.shelf, f.slot, f.config.buffer_count, f.config.firmware,
                     f.config.max_sectors};
    // Never more frames in flight than the target buffers: it drops the excess.
    u32 w = target_.buffer_count != 0 ? target_.buffer_count : 1;
    if (cfg_.max_window != 0 && cfg_.max_window < w)
        w = cfg_.max_window;
    window_ = cwnd_ = w < kMaxWindow ? w : kMaxWindow;
    // Sectors per frame follow our MTU (the same rule the target applies to its own), capped
    // by what the target says it takes.
    u32 spf = (cfg_.mtu - static_cast<u32>(kAtaHeaderLen)) / static_cast<u32>(kSectorSize);
    if (spf > kMaxSectorsPerFrame)
        spf = kMaxSectorsPerFrame;
    if (target_.max_sectors != 0 && target_.max_sectors < spf)
        spf = target_.max_sectors;
    spf_ = spf != 0 ? spf : 1;
    log(Event::TargetFound, f.tag, u64{target_.buffer_count} << 8 | target_.max_sectors);
    state_ = State::Identifying;
    submit_identify();
}

void Initiator::submit_identify() {
    i64 const r = find_free_request();
    if (r < 0)
        return;
    Pending& p = pending_[r];
    p = Pending{};
    p.io = IoRequest{Op::Read, 0, 1, identify_buf_, nullptr, nullptr};
    p.used = true;
    p.identify = true;
    p.order = next_order_++;
    pump(clock_->now_us());
}

void Initiator::identify_done(Result const& r) {
    if (r.outcome == Outcome::Ok && ok(parse_identify(identify_buf_, &identify_))) {
        state_ = State::Ready;
        log(Event::Ready, 0, identify_.sectors);
        return;
    }
    log(Event::IdentifyFailed, 0, static_cast<u64>(r.outcome));
    state_ = State::Discovering;  // the target may have gone: look again
    discover_tries_ = 0;
    discover_at_us_ = clock_->now_us();
}

void Initiator::on_ata(Frame const& f, u64 now) {
    if (state_ != State::Identifying && state_ != State::Ready)
        return refuse(Refusal::UnknownTag, f.tag);  // nothing of ours is in flight
    if (f.src != target_.mac)
        return refuse(Refusal::WrongSource, f.tag);
    if (f.shelf != target_.shelf || f.slot != target_.slot)
        return refuse(Refusal::WrongTarget, f.tag);
    u32 const idx = tag_slot(f.tag);
    if (idx >= window_ || is_probe(f.tag))
        return refuse(Refusal::UnknownTag, f.tag);
    Slot const& s = slots_[idx];
    u32 const seq = tag_seq(f.tag);
    if (!s.used || s.seq != seq) {
        bool const dup = s.has_retired && s.retired_seq == seq;
        return refuse(dup ? Refusal::Duplicate : Refusal::UnknownTag, f.tag);
    }
    if (tag_attempt(f.tag) > s.attempt)  // a transmission we never made
        return refuse(Refusal::UnknownTag, f.tag);
    if (check_ata_reply(f, s, pending_[s.request]))
        finish_frame(idx, f, now);
}

bool Initiator::check_ata_reply(Frame const& f, Slot const& s, Pending const& p) {
    bool const write = p.io.op == Op::Write && !p.identify;
    if (((f.ata.aflags & kAflagWrite) != 0) != write ||
        ((f.ata.aflags & kAflagExtended) != 0) != s.extended) {
        refuse(Refusal::FlagMismatch, f.tag);
        return false;
    }
    if ((f.flags & kFlagError) != 0) {
        // The target refused the command itself; sending it again gets the same answer.
        refuse(Refusal::ErrorFlag, f.tag);
        fail_request(s.request, Result{Outcome::TargetError, static_cast<TargetError>(f.error),
                                       0, 0, s.lba});
        return false;
    }
    if (ata_failed(f.ata.cmd_status)) {
        ++counters_.accepted;
        ++counters_.ata_errors;
        log(Event::DeviceError, f.tag, u64{f.ata.cmd_status} << 8 | f.ata.err_feature);
        fail_request(s.request, Result{Outcome::DeviceError, TargetError::None,
                                       f.ata.cmd_status, f.ata.err_feature, s.lba});
        return false;
    }
    // ATA leaves the sectors still to do in the count register (vblade: 0); an echo of the
    // request is also fine. Anything else is not an answer to this frame.
    if (f.ata.sector_count != 0 && f.ata.sector_count != s.count) {
        refuse(Refusal::CountMismatch, f.tag);
        return false;
    }
    if (f.payload_len != (write ? 0 : size_t{s.count} * kSectorSize)) {
        refuse(Refusal::BadLength, f.tag);
        return false;
    }
    return true;
}

void Initiator::finish_frame(u32 idx, Frame const& f, u64 now) {
    Slot& s = slots_[idx];
    u32 const req = s.request;
    Pending& p = pending_[req];
    // The tag names the transmission a reply answers, so unlike TCP (Karn) a reply is never
    // ambiguous: the latest transmission is timed from when it was sent, and the first one,
    // answered after a retransmission, from when it was first sent. That late first answer
    // is what a spurious retransmission looks like (the network or the host stalled longer
    // than the timeout); dropping its sample, as Karn's rule does, kept the timeout at its
    // floor, so every later stall retransmitted the whole window again (issue 22, item 3).
    // Attempts in between carry no send time of their own and go untimed.
    // The latest transmission's time is taken once per round trip (sample_paced says why);
    // a late first answer always, and it counts as a needless retransmission.
    u8 const attempt = tag_attempt(f.tag);
    if (attempt == s.attempt && s.attempt != kMaxAttempt) {
        (void)rtt_.sample_paced(since(now, s.last_sent_us), now);
    } else if (attempt == 0) {
        ++counters_.spurious_retransmits;
        rtt_.sample(since(now, s.first_sent_us));
    }
    if (f.payload_len != 0)
        memcpy(p.io.buffer + (s.lba - p.io.lba) * kSectorSize, f.payload, f.payload_len);
    ++counters_.accepted;
    p.finished += s.count;
    retire(s);
    if (cwnd_ < window_)
        ++cwnd_;
    if (p.finished == p.io.count)
        complete(req, Result{Outcome::Ok, TargetError::None, 0, 0, 0});
    pump(now);
}

void Initiator::retire(Slot& s) {
    s.used = false;
    s.has_retired = true;
    s.retired_seq = s.seq;
    --in_flight_;
}

void Initiator::fail_request(u32 req, Result const& r) {
    // Its other frames are forgotten too, so a late reply can never write into a buffer the
    // caller has got back.
    for (u32 i = 0; i < kMaxWindow; ++i)
        if (slots_[i].used && slots_[i].request == req)
            retire(slots_[i]);
    complete(req, r);
    pump(clock_->now_us());  // the freed window goes to the next request now, not at a timer
}

void Initiator::complete(u32 req, Result const& r) {
    Pending const p = pending_[req];
    pending_[req] = Pending{};  // free before the callback, which may submit again
    if (p.identify)
        return identify_done(r);
    if (r.outcome == Outcome::Ok)
        ++counters_.requests_done;
    else
        ++counters_.requests_failed;
    p.io.done(p.io.ctx, r);
}

void Initiator::poll(u64 now) {
    if (tx_ == nullptr)
        return;
    for (u32 i = 0; i < kMaxWindow; ++i) {
        Slot& s = slots_[i];
        if (!s.used)
            continue;
        if (cfg_.deadline_us != 0 && since(now, s.first_sent_us) >= cfg_.deadline_us) {
            ++counters_.deadline_failures;
            log(Event::TimedOut, make_tag(i), s.lba);
            fail_request(s.request, Result{Outcome::TimedOut, TargetError::None, 0, 0, s.lba});
            continue;
        }
        if (now < s.timeout_us)
            continue;
        if (s.attempt != kMaxAttempt)
            ++s.attempt;
        if (s.backoff < 31)
            ++s.backoff;
        ++counters_.retransmits;
        cwnd_ = cwnd_ > 1 ? cwnd_ / 2 : 1;  // a loss: fewer new frames until replies return
        log(Event::Retransmit, make_tag(i), s.lba);
        transmit(i, now);
    }
    if (state_ == State::Discovering && now >= discover_at_us_)
        send_query(now);
    pump(now);
}

void Initiator::pump(u64 now) {
    if (state_ != State::Identifying && state_ != State::Ready)
        return;
    while (in_flight_ < cwnd_) {
        i64 const req = find_next_request();
        i64 const slot = find_free_slot();
        if (req < 0 || slot < 0)
            break;
        issue_frame(static_cast<u32>(req), static_cast<u32>(slot), now);
    }
}

void Initiator::issue_frame(u32 req, u32 idx, u64 now) {
    Pending& p = pending_[req];
    u32 const left = p.io.count - p.issued;
    Slot& s = slots_[idx];
    s.used = true;
    s.request = static_cast<u8>(req);
    s.count = static_cast<u8>(left < spf_ ? left : spf_);
    s.attempt = 0;
    s.backoff = 0;
    s.seq = next_seq_++ & kSeqMask;
    s.lba = p.io.lba + p.issued;
    // 28-bit commands wherever they reach: every ATA target has them.
    s.extended = !p.identify &&
                 (s.lba + s.count > kLba28Limit || (cfg_.always_lba48 && identify_.lba48));
    s.first_sent_us = now;
    p.issued += s.count;
    ++in_flight_;
    transmit(idx, now);
}

void Initiator::transmit(u32 idx, u64 now) {
    Slot& s = slots_[idx];
    Pending const& p = pending_[s.request];
    bool const write = p.io.op == Op::Write && !p.identify;
    Frame f{};
    f.dst = target_.mac;
    f.src = cfg_.local_mac;
    f.shelf = target_.shelf;
    f.slot = target_.slot;
    f.command = Command::Ata;
    f.tag = make_tag(idx);
    f.ata.aflags = static_cast<u8>((write ? kAflagWrite : 0) | (s.extended ? kAflagExtended : 0));
    f.ata.sector_count = s.count;
    AtaCmd cmd = AtaCmd::IdentifyDevice;
    if (!p.identify)
        cmd = write ? (s.extended ? AtaCmd::WriteSectorsExt : AtaCmd::WriteSectors)
                    : (s.extended ? AtaCmd::ReadSectorsExt : AtaCmd::ReadSectors);
    f.ata.cmd_status = static_cast<u8>(cmd);
    f.ata.lba = s.extended ? s.lba : lba28_field(s.lba);
    if (write) {
        f.payload = p.io.buffer + (s.lba - p.io.lba) * kSectorSize;
        f.payload_len = size_t{s.count} * kSectorSize;
    }
    size_t len = 0;
    if (ok(build_frame(f, frame_buf_, sizeof frame_buf_, &len)) && ok(tx_->send(frame_buf_, len))) {
        ++counters_.tx_frames;
    } else {
        ++counters_.tx_errors;  // handled like a lost frame: the timer resends it
        log(Event::SendFailed, f.tag, s.lba);
    }
    s.last_sent_us = now;
    s.timeout_us = now + rtt_.backed_off_us(s.backoff);
}

Status Initiator::submit(IoRequest const& req) {
    if (tx_ == nullptr || state_ != State::Ready)
        return Status::Invalid;
    if (req.count == 0 || req.buffer == nullptr || req.done == nullptr)
        return Status::Invalid;
    if (req.lba >= identify_.sectors || req.count > identify_.sectors - req.lba)
        return Status::Invalid;
    i64 const r = find_free_request();
    if (r < 0)
        return Status::NoMemory;
    Pending& p = pending_[r];
    p = Pending{};
    p.io = req;
    p.used = true;
    p.order = next_order_++;
    pump(clock_->now_us());
    return Status::Ok;
}

u32 Initiator::pending_requests() const {
    u32 n = 0;
    for (Pending const& p : pending_)
        n += p.used && !p.identify ? 1 : 0;
    return n;
}

u64 Initiator::next_timer_us() const {
    u64 t = state_ == State::Discovering ? discover_at_us_ : kNever;
    for (Slot const& s : slots_) {
        if (!s.used)
            continue;
        t = min64(t, s.timeout_us);
        if (cfg_.deadline_us != 0)
            t = min64(t, s.first_sent_us + cfg_.deadline_us);
    }
    return t;
}

i64 Initiator::find_next_request() const {
    i64 best = -1;
    for (u32 i = 0; i < kMaxRequests; ++i) {
        Pending const& p = pending_[i];
        if (p.used && p.issued < p.io.count && (best < 0 || p.order < pending_[best].order))
            best = i;
    }
    return best;
}

i64 Initiator::find_free_slot() const {
    for (u32 i = 0; i < window_; ++i)
        if (!slots_[i].used)
            return i;
    return -1;
}

i64 Initiator::find_free_request() const {
    for (u32 i = 0; i < kMaxRequests; ++i)
        if (!pending_[i].used)
            return i;
    return -1;
}

u32 Initiator::make_tag(u32 idx) const {
    Slot const& s = slots_[idx];
    return s.seq << 10 | u32{s.attempt} << 6 | idx;
}

}  // namespace tv::aoe
