// Bulk-Only Transport through the storage pipeline (usb_storage.hpp): CBWs decided, data
// stages sealed, unsealed or sunk, CSWs of refused commands rewritten.
#include "drivers/usb/usb_storage.hpp"

#include <stdio.h>
#include <string.h>

#include "storage/key_table.hpp"

namespace tv::usb {

namespace {

constexpr u8 kRequestSense = 0x03, kInquiry = 0x12, kReadCapacity10 = 0x25, kServiceActionIn16 = 0x9E;
constexpr ScsiSense kNoMedium{0x02, 0x3A, 0x00}, kNotReady{0x02, 0x04, 0x00}, kWriteProtected{0x07, 0x27, 0x00};
constexpr ScsiSense kBadField{0x05, 0x24, 0x00}, kBadLun{0x05, 0x25, 0x00}, kOutOfRange{0x05, 0x21, 0x00};
constexpr ScsiSense kReadError{0x03, 0x11, 0x00};

u32 min32(u32 a, u32 b) { return a < b ? a : b; }

}  // namespace

void UsbStorage::reset_bot() {
    cmd_ = Cmd{};
    out_left_ = in_left_ = out_off_ = sealed_ = in_off_ = 0;
    in_done_ = true;
}

storage::DiskId UsbStorage::disk_id() const {
    storage::DiskId did{storage::Bus::Usb, {}};
    if (serial_seen_ && !ok(crypto::make_serial(id_.serial, strlen(id_.serial), did.serial))) did.serial = crypto::DiskSerial{};
    return did;
}

// Once per device, at its first command: the policy, whether its key is listed, the log line.
void UsbStorage::classify(StorageMem const& m) {
    classified_ = true;
    identity_ok_ = device_seen_ && (id_.serial_index == 0 || serial_seen_);
    listed_ = storage::lookup(disk_id()).listed;
    rule_ = m.env ? m.env->usb_rule(id_, serial_seen_) : UsbRule::Allow;
    char const* what = !identity_ok_                               ? "refused (identity not read)"
                       : rule_ == UsbRule::Deny                    ? "refused"
                       : rule_ == UsbRule::Encrypt && !listed_     ? "refused (not enrolled)"
                       : rule_ == UsbRule::ReadOnly                ? (listed_ ? "read-only, encrypted" : "read-only, plaintext")
                       : listed_                                   ? "encrypted"
                                                                   : "plaintext";
    char line[224];
    snprintf(line, sizeof line, "%s: %04x:%04x serial '%s': mass storage, policy %s, key %s: %s", m.who, id_.vendor,
             id_.product, id_.serial, usb_rule_name(rule_), listed_ ? "listed" : "not listed", what);
    if (m.env) m.env->note(line);
}

void UsbStorage::refuse(Cmd* cmd, ScsiSense s) {
    cmd->refused = true;
    cmd->sink = true;
    cmd->sense = s;
}

void UsbStorage::decide(StorageMem const& m, Cmd* cmd) {
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
    if (!m.bounce.virt || cmd->cbw.data_length > kBounceBytes) return refuse(cmd, kBadField);
    cmd->media = true;
}

char const* UsbStorage::cbw(StorageMem const& m, u8 const* raw, u32 len) {
    Cmd n{};
    if (char const* why = parse_cbw(raw, len, &n.cbw)) return why;
    if (!classified_) classify(m);
    n.scsi = scsi_decode(n.cbw.cb, n.cbw.cb_length);
    decide(m, &n);
    sense_pending_ = n.refused;
    pending_sense_ = n.sense;
    if (n.refused && m.env) {
        char line[96];
        snprintf(line, sizeof line, "%s (sense %02x/%02x/%02x)", scsi_command_name(n.scsi.opcode), n.sense.key, n.sense.asc,
                 n.sense.ascq);
        m.env->refused("mass-storage command", line);
    }
    cmd_ = n;
    bool const in = (n.cbw.flags & 0x80) != 0;
    out_left_ = in ? 0 : n.cbw.data_length;
    in_left_ = in ? n.cbw.data_length : 0;
    out_off_ = sealed_ = in_off_ = 0;
    in_done_ = false;
    Cbw given = n.cbw;
    if (n.refused) {  // TEST UNIT READY moves nothing; the device absorbs the data stage
        memset(given.cb, 0, sizeof given.cb);
        given.cb_length = 6;
    }
    memcpy(m.small.virt + kCbwOff, &given, sizeof given);
    return nullptr;
}

char const* UsbStorage::out_data(StorageMem const&, u32 len, Place* p, u32* off) {
    *p = Place::Guest;
    *off = 0;
    if (len > out_left_) {
        out_left_ = 0;
        return "data beyond the command's data stage";
    }
    out_left_ -= len;
    if (cmd_.sink) {
        *p = Place::Sink;
        return nullptr;
    }
    if (!cmd_.media) return nullptr;
    // A buffer refused still takes its place in the data stage (the device gets the sink
    // instead), so that every later byte keeps its sector and its tweak.
    if (out_off_ + len > kBounceBytes) return "data stage larger than the bounce";
    *p = Place::Bounce;
    *off = out_off_;
    out_off_ += len;
    return nullptr;
}

void UsbStorage::seal(StorageMem const& m) {
    if (!cmd_.media) return;
    u32 const bs = volume_.sector_size();
    u32 const whole = out_off_ / bs * bs;
    if (whole <= sealed_) return;
    if (ok(volume_.seal(Lba{cmd_.scsi.lba.raw + sealed_ / bs}, m.bounce.virt + sealed_, (whole - sealed_) / bs))) {
        sealed_ = whole;
    } else {
        memset(m.bounce.virt + sealed_, 0, out_off_ - sealed_);
        if (m.env) m.env->refused("mass-storage write", "the storage pipeline refused to seal it");
    }
}

char const* UsbStorage::csw_begin(StorageMem const& m, u32 len) {
    if (len > kCswMax) return "not a CSW (one transfer of at most 512 bytes)";
    memset(m.small.virt + kCswOff, 0, kCswMax);
    return nullptr;
}

char const* UsbStorage::in_data(u32 len, Place* p, u32* off) {
    *p = Place::Guest;
    *off = 0;
    if (len > in_left_) {
        in_left_ = 0;
        return "data beyond the command's data stage";
    }
    in_left_ -= len;
    if (cmd_.sink) {
        *p = Place::Sink;
        return nullptr;
    }
    if (!cmd_.media && !cmd_.small) return nullptr;
    if (!cmd_.media && in_off_ + len > kSmallInMax) return "data stage larger than the small page";
    if (cmd_.media && in_off_ + len > kBounceBytes) return "data stage larger than the bounce";
    *p = cmd_.media ? Place::Bounce : Place::Small;
    *off = (cmd_.media ? 0 : kSmallInOff) + in_off_;
    in_off_ += len;
    return nullptr;
}

u8* UsbStorage::in_area(StorageMem const& m) const { return cmd_.media ? m.bounce.virt : m.small.virt + kSmallInOff; }

u32 UsbStorage::in_finish(StorageMem const& m, u32 got) {
    in_done_ = true;
    u8* area = in_area(m);
    got = min32(got, in_off_);
    if (cmd_.media) {
        u32 const bs = volume_.sector_size(), whole = got / bs;
        if (whole && !ok(volume_.unseal(Lba{cmd_.scsi.lba.raw}, area, whole))) {
            memset(area, 0, got);
            refuse(&cmd_, kReadError);  // the CSW says so
            sense_pending_ = true;
            pending_sense_ = kReadError;
            return 0;
        }
        return whole * bs;
    }
    if (cmd_.scsi.opcode == kReadCapacity10 || cmd_.scsi.opcode == kServiceActionIn16) {
        Lba last{0};
        u32 bs = 0;
        bool const good = cmd_.scsi.opcode == kReadCapacity10 ? parse_capacity10(area, got, &last, &bs)
                                                              : parse_capacity16(area, got, &last, &bs);
        if (good && (!volume_.attached() || volume_.sector_size() != bs)) (void)volume_.attach(disk_id(), bs);
    } else if (cmd_.sense_patch && got >= 14) {
        area[0] = 0x70;
        area[2] = cmd_.sense.key;
        if (area[7] < 10) area[7] = 10;
        area[12] = cmd_.sense.asc;
        area[13] = cmd_.sense.ascq;
    }
    return got;
}

void UsbStorage::in_clear(StorageMem const& m) { memset(in_area(m), 0, in_off_); }  // no plaintext stays where the device can reach it

void UsbStorage::csw_finish(StorageMem const& m, u32 got) {
    u8* p = m.small.virt + kCswOff;
    if (got < kCswBytes || !cmd_.refused) return;
    Csw w;
    memcpy(&w, p, sizeof w);
    if (w.signature != kCswSignature || w.tag != cmd_.cbw.tag) return;
    w.status = static_cast<u8>(CswStatus::Failed);
    w.residue = cmd_.cbw.data_length;
    memcpy(p, &w, sizeof w);
}

}  // namespace tv::usb
