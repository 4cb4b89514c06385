// Bulk-Only Transport through the storage pipeline (usb_slot.hpp): CBWs copied and decided,
// data stages sealed, unsealed or sunk, CSWs of refused commands rewritten.
#include <stdio.h>
#include <string.h>

#include "drivers/usb/usb_slot.hpp"
#include "drivers/usb/xhci_controller.hpp"
#include "storage/key_table.hpp"

namespace tv::usb {

namespace {

// The small page: the CBW the device reads, the CSW it writes, small data-in (capacity, sense).
constexpr u32 kCbwOff = 0, kCswOff = 64, kCswMax = 512, kSmallInOff = 1024, kSmallInMax = kPageSize - kSmallInOff;

constexpr u8 kRequestSense = 0x03, kInquiry = 0x12, kReadCapacity10 = 0x25, kServiceActionIn16 = 0x9E;
constexpr ScsiSense kNoMedium{0x02, 0x3A, 0x00}, kNotReady{0x02, 0x04, 0x00}, kWriteProtected{0x07, 0x27, 0x00};
constexpr ScsiSense kBadField{0x05, 0x24, 0x00}, kBadLun{0x05, 0x25, 0x00}, kOutOfRange{0x05, 0x21, 0x00};
constexpr ScsiSense kReadError{0x03, 0x11, 0x00};

u32 min32(u32 a, u32 b) { return a < b ? a : b; }

}  // namespace

void UsbSlot::reset_bot() {
    cmd_ = Cmd{};
    out_left_ = in_left_ = out_off_ = sealed_ = in_off_ = in_count_ = batch_n_ = 0;
    in_done_ = true;
    csw_len_ = 0;
}

// Once per device, at its first command: the policy, whether its key is listed, the log line.
void UsbSlot::classify(UsbCtx const& c) {
    classified_ = true;
    identity_ok_ = device_seen_ && (id_.serial_index == 0 || serial_seen_);
    storage::DiskId did{storage::Bus::Usb, {}};
    if (serial_seen_ && !ok(crypto::make_serial(id_.serial, strlen(id_.serial), did.serial))) did.serial = crypto::DiskSerial{};
    listed_ = storage::lookup(did).listed;
    rule_ = c.env ? c.env->usb_rule(id_, serial_seen_) : UsbRule::Allow;
    char const* what = !identity_ok_                               ? "refused (identity not read)"
                       : rule_ == UsbRule::Deny                    ? "refused"
                       : rule_ == UsbRule::Encrypt && !listed_     ? "refused (not enrolled)"
                       : rule_ == UsbRule::ReadOnly                ? (listed_ ? "read-only, encrypted" : "read-only, plaintext")
                       : listed_                                   ? "encrypted"
                                                                   : "plaintext";
    char line[224];
    snprintf(line, sizeof line, "usb slot %u: %04x:%04x serial '%s': mass storage, policy %s, key %s: %s", c.slot,
             id_.vendor, id_.product, id_.serial, usb_rule_name(rule_), listed_ ? "listed" : "not listed", what);
    if (c.env) c.env->note(line);
}

void UsbSlot::refuse(Cmd* cmd, ScsiSense s) {
    cmd->refused = true;
    cmd->sink = true;
    cmd->sense = s;
}

void UsbSlot::decide(UsbCtx const& c, Cmd* cmd) {
    ScsiCommand const& s = cmd->scsi;
    bool const device_ok = identity_ok_ && rule_ != UsbRule::Deny && !(rule_ == UsbRule::Encrypt && !listed_);
    if (cmd->cbw.lun) return refuse(cmd, kBadLun);
    if (!device_ok && s.opcode != kInquiry && s.opcode != kRequestSense) return refuse(cmd, kNoMedium);
    if (s.cls == ScsiClass::Refused || s.cls == ScsiClass::RefusedWrite) return refuse(cmd, refusal_sense(s.cls));
    bool const in = (cmd->cbw.flags & 0x80) != 0;
    if (s.cls == ScsiClass::Passthrough) {
        if (check_data_stage(cmd->cbw, s, 512)) return refuse(cmd, kBadField);
        bool const capacity = s.opcode == kReadCapacity10 || s.opcode == kServiceActionIn16;
        bool const sense = s.opcode == kRequestSense && sense_pending_;
        cmd->small = (capacity || sense) && in && cmd->cbw.data_length <= kSmallInMax;
        cmd->sense_patch = sense;
        cmd->sense = pending_sense_;
        return;
    }
    bool const write = s.cls == ScsiClass::Write;
    if (write && rule_ == UsbRule::ReadOnly) return refuse(cmd, kWriteProtected);
    if (!volume_.attached()) return refuse(cmd, kNotReady);  // no READ CAPACITY seen yet
    if (check_data_stage(cmd->cbw, s, volume_.sector_size())) return refuse(cmd, kBadField);
    if (!volume_.allowed(s.lba, s.blocks))
        return refuse(cmd, volume_.policy() == storage::DiskPolicy::Deny ? kWriteProtected : kOutOfRange);
    // The file-protection policy judges the write at its CBW, before the data exists, and with
    // no read of the current sectors (the BOT path cannot read behind the guest's back): a
    // protected, append-only or discard range refuses it whole, with an audit line and a count
    // like IDE's and AHCI's; an audit range lets it through, logged.
    bool const ruled = write && volume_.write_touches_rules(s.lba, s.blocks);
    if (ruled && !ok(volume_.check_write(s.lba, nullptr, s.blocks, nullptr))) return refuse(cmd, kWriteProtected);
    // Judged already, and its data is never looked at here: it moves as a write of other sectors would.
    if (volume_.direct(s.lba, s.blocks, write && !ruled)) return;
    if (!c.bounce.virt || cmd->cbw.data_length > kBounceBytes) return refuse(cmd, kBadField);
    cmd->media = true;
}

char const* UsbSlot::cbw(UsbCtx const& c, Trb* t) {
    if (trb_length(*t) != kCbwBytes || (t->control & kTrbChain)) return "not a CBW (one TRB of 31 bytes)";
    u8 raw[kCbwBytes];
    if (!c.g->read(Gpa{t->param}, raw, sizeof raw)) return "CBW outside guest memory";
    Cmd n{};
    if (char const* why = parse_cbw(raw, sizeof raw, &n.cbw)) return why;
    if (!classified_) classify(c);
    n.scsi = scsi_decode(n.cbw.cb, n.cbw.cb_length);
    decide(c, &n);
    sense_pending_ = n.refused;
    pending_sense_ = n.sense;
    if (n.refused && c.env) {
        char line[96];
        snprintf(line, sizeof line, "%s (sense %02x/%02x/%02x)", scsi_command_name(n.scsi.opcode), n.sense.key, n.sense.asc,
                 n.sense.ascq);
        c.env->refused("mass-storage command", line);
    }
    cmd_ = n;
    bool const in = (n.cbw.flags & 0x80) != 0;
    out_left_ = in ? 0 : n.cbw.data_length;
    in_left_ = in ? n.cbw.data_length : 0;
    out_off_ = sealed_ = in_off_ = in_count_ = 0;
    in_done_ = false;
    Cbw given = n.cbw;
    if (n.refused) {  // TEST UNIT READY moves nothing; the device absorbs the data stage
        memset(given.cb, 0, sizeof given.cb);
        given.cb_length = 6;
    }
    memcpy(c.small.virt + kCbwOff, &given, sizeof given);
    t->param = c.small.dev.raw + kCbwOff;
    return nullptr;
}

char const* UsbSlot::bot_out(UsbCtx const& c, Trb* t, u16*) {
    if (trb_type(*t) != TrbType::Normal || (t->control & kTrbIdt)) return "not a Normal TRB with a buffer on a mass-storage endpoint";
    if (out_left_ == 0) return cbw(c, t);
    u32 const len = trb_length(*t);
    if (len > out_left_) {
        out_left_ = 0;
        return "data beyond the command's data stage";
    }
    out_left_ -= len;
    if (cmd_.sink) {
        t->param = c.sink.raw;
        return nullptr;
    }
    if (!cmd_.media) return nullptr;
    // A buffer refused still takes its place in the data stage (the device gets the sink
    // instead), so that every later byte keeps its sector and its tweak.
    if (out_off_ + len > kBounceBytes) return "data stage larger than the bounce";
    bool const copied = c.g->read(Gpa{t->param}, c.bounce.virt + out_off_, len);
    if (!copied) memset(c.bounce.virt + out_off_, 0, len);
    t->param = c.bounce.dev.raw + out_off_;
    out_off_ += len;
    if (batch_n_ == kBatchMax) return "data stage in too many pieces";
    batch_idx_[batch_n_] = static_cast<u16>(cur_idx_);
    batch_end_[batch_n_++] = out_off_;
    return copied ? nullptr : "buffer outside guest memory";
}

char const* UsbSlot::bot_in(UsbCtx const& c, Trb* t, u16* tag) {
    if (trb_type(*t) != TrbType::Normal || (t->control & kTrbIdt)) return "not a Normal TRB with a buffer on a mass-storage endpoint";
    u32 const len = trb_length(*t);
    if (in_left_ == 0) {
        if (len > kCswMax || (t->control & kTrbChain)) return "not a CSW (one TRB of at most 512 bytes)";
        memset(c.small.virt + kCswOff, 0, kCswMax);
        csw_guest_ = Gpa{t->param};
        csw_len_ = len;
        t->param = c.small.dev.raw + kCswOff;
        *tag = trb_tag(TrbRole::BotCsw);
        return nullptr;
    }
    if (len > in_left_) {
        in_left_ = 0;
        return "data beyond the command's data stage";
    }
    in_left_ -= len;
    if (cmd_.sink) {
        t->param = c.sink.raw;
        return nullptr;
    }
    if (!cmd_.media && !cmd_.small) return nullptr;
    if (in_count_ == kMaxBotEntries) return "data stage in too many pieces";
    if (!c.g->ok(Gpa{t->param}, len)) return "buffer outside guest memory";
    in_[in_count_] = InEntry{Gpa{t->param}, in_off_, len};
    t->param = (cmd_.media ? c.bounce.dev.raw : c.small.dev.raw + kSmallInOff) + in_off_;
    *tag = trb_tag(TrbRole::BotIn, in_count_++);
    in_off_ += len;
    return nullptr;
}

void UsbSlot::batch_end(UsbCtx const& c, u8 dci, bool* unsealed, u32 count) {
    u32 const n = batch_n_;
    batch_n_ = 0;
    if (!storage_bot() || dci != endpoint_dci(cfg_.bulk_out) || !cmd_.media) return;
    u32 const bs = volume_.sector_size();
    u32 const whole = out_off_ / bs * bs;
    if (whole > sealed_) {
        if (ok(volume_.seal(Lba{cmd_.scsi.lba.raw + sealed_ / bs}, c.bounce.virt + sealed_, (whole - sealed_) / bs))) {
            sealed_ = whole;
        } else {
            memset(c.bounce.virt + sealed_, 0, out_off_ - sealed_);
            if (c.env) c.env->refused("mass-storage write", "the storage pipeline refused to seal it");
        }
    }
    // Bytes not sealed yet (a sector split across doorbells) never reach the device.
    for (u32 i = 0; i < n; ++i)
        if (batch_end_[i] > sealed_ && batch_idx_[i] < count) unsealed[batch_idx_[i]] = true;
}

u8* UsbSlot::in_area(UsbCtx const& c) const { return cmd_.media ? c.bounce.virt : c.small.virt + kSmallInOff; }

void UsbSlot::data_in_done(UsbCtx const& c, u32 got) {
    in_done_ = true;
    u8* area = in_area(c);
    got = min32(got, in_off_);
    if (cmd_.media) {
        u32 const bs = volume_.sector_size(), whole = got / bs;
        if (whole && !ok(volume_.unseal(Lba{cmd_.scsi.lba.raw}, area, whole))) {
            memset(area, 0, got);
            refuse(&cmd_, kReadError);  // the CSW says so
            sense_pending_ = true;
            pending_sense_ = kReadError;
            return;
        }
        got = whole * bs;
    } else if (cmd_.scsi.opcode == kReadCapacity10 || cmd_.scsi.opcode == kServiceActionIn16) {
        Lba last{0};
        u32 bs = 0;
        bool const good = cmd_.scsi.opcode == kReadCapacity10 ? parse_capacity10(area, got, &last, &bs)
                                                              : parse_capacity16(area, got, &last, &bs);
        storage::DiskId did{storage::Bus::Usb, {}};
        if (serial_seen_ && !ok(crypto::make_serial(id_.serial, strlen(id_.serial), did.serial))) did.serial = crypto::DiskSerial{};
        if (good && (!volume_.attached() || volume_.sector_size() != bs)) (void)volume_.attach(did, bs);
    } else if (cmd_.sense_patch && got >= 14) {
        area[0] = 0x70;
        area[2] = cmd_.sense.key;
        if (area[7] < 10) area[7] = 10;
        area[12] = cmd_.sense.asc;
        area[13] = cmd_.sense.ascq;
    }
    for (u32 i = 0; i < in_count_ && in_[i].off < got; ++i)
        if (!c.g->write(in_[i].guest, area + in_[i].off, min32(in_[i].len, got - in_[i].off)) && c.env)
            c.env->refused("mass-storage data", "guest buffer outside guest memory");
    memset(area, 0, in_off_);  // no plaintext stays where the device can reach it
}

void UsbSlot::csw_done(UsbCtx const& c, u32 got) {
    u8* p = c.small.virt + kCswOff;
    if (got >= kCswBytes && cmd_.refused) {
        Csw w;
        memcpy(&w, p, sizeof w);
        if (w.signature == kCswSignature && w.tag == cmd_.cbw.tag) {
            w.status = static_cast<u8>(CswStatus::Failed);
            w.residue = cmd_.cbw.data_length;
            memcpy(p, &w, sizeof w);
        }
    }
    if (!c.g->write(csw_guest_, p, got) && c.env) c.env->refused("CSW", "guest buffer outside guest memory");
}

}  // namespace tv::usb
