// An AoE initiator for one target (shelf.slot): finds it with a broadcast Query Config, learns
// its size with ATA IDENTIFY, then carries block reads and writes as ATA READ/WRITE SECTORS
// (EXT above the 28-bit range) frames, with a window of frames in flight, per-frame tags,
// adaptive retransmission and a give-up deadline.
//
// It owns no hardware: frames go out through a FrameTx, time comes from a Clock, received
// frames come in through on_frame() and timers run in poll(). Single-threaded: the owner calls
// everything from one context. Storage is fixed (no allocation), so it runs in the monitor.
// Every received frame is judged: accepted, ignored (not meant for us) or refused (counted by
// reason and reported to the log callback); nothing a peer sends can make it misbehave.
#pragma once

#include "aoe/ata.hpp"
#include "aoe/frame.hpp"
#include "aoe/rtt.hpp"
#include "core/types.hpp"

namespace tv::aoe {

class FrameTx {
  public:
    // Sends one complete Ethernet frame (no FCS). The bytes are only valid during the call.
    // Must not call back into the initiator.
    [[nodiscard]] virtual Status send(u8 const* frame, size_t len) = 0;

  protected:
    ~FrameTx() = default;
};

class Clock {
  public:
    virtual u64 now_us() = 0;  // monotonic microseconds

  protected:
    ~Clock() = default;
};

enum class Op : u8 { Read, Write };

enum class Outcome : u8 {
    Ok,
    TimedOut,     // a frame went unanswered for the whole deadline
    TargetError,  // the target answered with the AoE error flag (see aoe_error)
    DeviceError,  // the ATA status reported an error (see ata_status / ata_error)
    Aborted,      // start() was called again (rediscovery) while the request was pending
};

struct Result {
    Outcome outcome;
    TargetError aoe_error;  // TargetError
    u8 ata_status;          // DeviceError: the status and error registers as returned
    u8 ata_error;
    u64 lba;  // the first sector of the frame that failed
};

using CompletionFn = void (*)(void* ctx, Result const& result);

// One block request. The buffer stays the caller's and must stay valid until the completion
// runs: reads fill it (count * 512 bytes), writes only read it. The completion runs exactly
// once, from inside on_frame(), poll() or start() (never from submit()); it may submit the
// next request but must not call on_frame(), poll() or start().
struct IoRequest {
    Op op;
    u64 lba;
    u32 count;  // sectors; split into frames internally
    u8* buffer;
    CompletionFn done;
    void* ctx;
};

enum class Refusal : u8 {
    Truncated,
    BadVersion,
    UnknownCommand,
    BadLength,      // length inconsistent with the header, or data not what was asked for
    WrongSource,    // not the target's MAC
    WrongTarget,    // the target's MAC but another shelf.slot
    UnknownTag,     // no frame of ours has this tag
    Duplicate,      // a second (or late) reply to a frame already finished
    CountMismatch,  // sector count differs from the request's
    FlagMismatch,   // aflags (write, extended) differ from the request's
    ErrorFlag,      // the AoE error flag: the request fails with TargetError
    BadConfig,      // a Query Config reply we cannot use
    Count_,
};
inline constexpr size_t kRefusalCount = static_cast<size_t>(Refusal::Count_);

enum class Event : u8 {
    Refused,          // refusal and tag say what
    TargetFound,      // value: buffer count << 8 | max sectors per command
    Ready,            // value: sectors
    IdentifyFailed,   // back to discovery
    Announcement,     // the target re-announced itself (restart): retransmitting now
    Retransmit,       // value: the frame's LBA
    TimedOut,         // value: the frame's LBA
    DeviceError,      // value: ata status << 8 | ata error
    SendFailed,
};

struct LogRecord {
    Event event;
    Refusal refusal;  // Event::Refused only
    u32 tag;
    u64 value;
};

using LogFn = void (*)(void* ctx, LogRecord const& rec);

char const* refusal_name(Refusal r);
char const* event_name(Event e);

struct Counters {
    u64 tx_frames;
    u64 tx_errors;
    u64 retransmits;
    u64 spurious_retransmits;  // the first transmission was answered after all (late, not lost)
    u64 announcements;
    u64 rx_frames;  // == accepted + ignored + every refused[]
    u64 accepted;
    u64 ignored;  // other ethertypes, requests, other hosts' or other targets' traffic
    u64 refused[kRefusalCount];
    u64 ata_errors;
    u64 deadline_failures;
    u64 requests_done;
    u64 requests_failed;

    u64 refused_total() const;
};

struct Config {
    Mac local_mac;
    u16 shelf;
    u8 slot;
    u32 mtu{1500};       // payload bytes of one Ethernet frame on our link
    u32 max_window{0};   // frames in flight; 0: as many as the target buffers (kMaxWindow cap)
    u64 rto_initial_us{100'000};
    u64 rto_min_us{5'000};
    u64 rto_max_us{2'000'000};
    u64 deadline_us{60'000'000};  // a frame unanswered this long fails its request; 0: never
    bool always_lba48{false};     // EXT commands even below 2^28 (when the target has LBA48)
};

enum class State : u8 {
    Idle,         // before start()
    Discovering,  // broadcasting Query Config
    Identifying,  // target found, IDENTIFY in flight
    Ready,        // submit() accepted
};

struct Target {
    Mac mac;
    u16 shelf;
    u8 slot;
    u16 buffer_count;
    u16 firmware;
    u8 max_sectors;  // 0: not advertised
};

class Initiator {
  public:
    static constexpr u32 kMaxWindow = 64;
    static constexpr u32 kMaxRequests = 16;
    static constexpr u32 kMaxMtu = 9216;
    static constexpr u32 kMaxSectorsPerFrame = (kMaxMtu - kAtaHeaderLen) / kSectorSize;  // 17
    static constexpr size_t kMaxFrame = kAtaHeaderLen + kMaxSectorsPerFrame * kSectorSize;

    // Invalid for a wildcard shelf/slot or an MTU outside [548, kMaxMtu].
    [[nodiscard]] Status init(Config const& cfg, FrameTx& tx, Clock& clock);
    void set_log(LogFn fn, void* ctx);

    void start();  // starts (or restarts) discovery; fails every pending request first
    void on_frame(u8 const* bytes, size_t len);
    void poll(u64 now_us);

    // Ok, or: Invalid (not Ready, zero count, no buffer or callback, past the disk's end),
    // NoMemory (kMaxRequests pending). On Ok the completion will run exactly once.
    [[nodiscard]] Status submit(IoRequest const& req);

    State state() const { return state_; }
    u64 sectors() const { return state_ == State::Ready ? identify_.sectors : 0; }
    IdentifyInfo const& identify() const { return identify_; }
    Target const& target() const { return target_; }
    u32 window() const { return window_; }
    u32 congestion_window() const { return cwnd_; }
    u32 sectors_per_frame() const { return spf_; }
    u32 in_flight() const { return in_flight_; }
    u32 pending_requests() const;
    RttEstimator const& rtt() const { return rtt_; }
    Counters const& counters() const { return counters_; }
    // When poll() next has something to do (a retransmission, a deadline, a discovery probe);
    // ~0 when nothing is scheduled. For hosts that sleep between events.
    u64 next_timer_us() const;

  private:
    struct Pending {
        IoRequest io;
        bool used;
        bool identify;  // internal IDENTIFY for the disk size
        u32 issued;     // sectors handed to frames so far
        u32 finished;
        u64 order;  // submission order: frames are issued oldest request first
    };
    struct Slot {
        bool used;
        bool has_retired;
        bool extended;
        u8 request;
        u8 count;
        u8 attempt;  // transmissions - 1 (saturates at 15); goes into the tag
        u8 backoff;  // RTO doublings for the next timeout; reset when the target reappears
        u32 seq;
        u32 retired_seq;  // the last frame this slot carried, to tell duplicates from junk
        u64 lba;
        u64 first_sent_us;
        u64 last_sent_us;
        u64 timeout_us;
    };

    void refuse(Refusal r, u32 tag);
    void log(Event e, u32 tag, u64 value);
    void on_config(Frame const& f, u64 now);
    void announced(Frame const& f, u64 now);
    [[nodiscard]] bool is_versionless_announcement(Frame const& f, size_t len) const;
    void adopt_target(Frame const& f);
    void on_ata(Frame const& f, u64 now);
    [[nodiscard]] bool check_ata_reply(Frame const& f, Slot const& s, Pending const& p);
    void finish_frame(u32 slot, Frame const& f, u64 now);
    void fail_request(u32 req, Result const& r);
    void complete(u32 req, Result const& r);
    void retire(Slot& s);
    void pump(u64 now);
    void issue_frame(u32 req, u32 slot, u64 now);
    void transmit(u32 slot, u64 now);
    void send_query(u64 now);
    void submit_identify();
    void identify_done(Result const& r);
    i64 find_next_request() const;
    i64 find_free_slot() const;
    i64 find_free_request() const;
    u32 make_tag(u32 slot) const;

    Config cfg_{};
    FrameTx* tx_{nullptr};
    Clock* clock_{nullptr};
    LogFn log_fn_{nullptr};
    void* log_ctx_{nullptr};

    State state_{State::Idle};
    Target target_{};
    IdentifyInfo identify_{};
    u32 window_{1};
    u32 cwnd_{1};  // halved on a timeout, grows back by one per good reply
    u32 spf_{1};
    u32 in_flight_{0};
    u32 next_seq_{0};
    u64 next_order_{0};
    u32 discover_tries_{0};
    u64 discover_at_us_{0};
    RttEstimator rtt_{};
    Counters counters_{};
    Pending pending_[kMaxRequests]{};
    Slot slots_[kMaxWindow]{};
    u8 identify_buf_[kSectorSize]{};
    u8 frame_buf_[kMaxFrame]{};
};

}  // namespace tv::aoe
