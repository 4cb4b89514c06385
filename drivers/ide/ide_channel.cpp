#include "drivers/ide/ide_channel.hpp"

#include <stdio.h>
#include <string.h>

namespace tv::ata {

namespace {

char const* policy_name(DiskPolicy p) {
    switch (p) {
        case DiskPolicy::Encrypt: return "encrypted";
        case DiskPolicy::PassThrough: return "passed through unencrypted";
        case DiskPolicy::Deny: return "refused (no key for it)";
    }
    return "?";
}

// Polls the alternate status (no side effects) until BSY clears; false on timeout.
bool wait_not_busy(IdeEnv& env, u16 ctrl, u8* status) {
    for (u32 i = 0; i < 200000; ++i) {
        *status = static_cast<u8>(env.port_in(ctrl, 1));
        if (!(*status & st::kBsy)) return true;
    }
    return false;
}

}  // namespace

void IdeChannel::init(IdeEnv* env, char const* name, IdePorts ports, DmaMemory const& dma) {
    env_ = env;
    name_ = name;
    ports_ = ports;
    dma_ = dma;
}

void IdeChannel::access(IdeBlock block, u8 offset, bool in, u8 size, u32* value) {
    switch (block) {
        case IdeBlock::Command: command_access(offset, in, size, value); break;
        case IdeBlock::Control:
            if (in) *value = status_read(true);
            else control_write(static_cast<u8>(*value));
            break;
        case IdeBlock::BusMaster: bm_access(offset, in, size, value); break;
    }
    bm_release_if_idle();
}

void IdeChannel::command_access(u8 offset, bool in, u8 size, u32* value) {
    u16 const port = static_cast<u16>(ports_.cmd + offset);
    if (offset == ide::kData) return data_access(in, size, value);
    if (size > 1) {  // byte by byte, as QEMU splits them: a command byte inside a wide write is still ours
        u32 all = 0;
        for (u8 i = 0; i < size && offset + i <= ide::kCommand; ++i) {
            u32 b = in ? 0 : (*value >> (8 * i)) & 0xFF;
            command_access(static_cast<u8>(offset + i), in, 1, &b);
            all |= (b & 0xFF) << (8 * i);
        }
        if (in) *value = all;
        return;
    }
    if (in) {
        if (offset == ide::kStatus) {
            *value = status_read(false);
        } else {
            *value = env_->port_in(port, size);
            // The refused command's error register: ABORT once the stand-in command is done.
            if (offset == ide::kError && aborted_ && !(in8(ports_.ctrl) & st::kBsy)) *value = abort_error_;
        }
        return;
    }
    u8 const v = static_cast<u8>(*value);
    if (offset == ide::kCommand) return command_write(v);
    if (offset == ide::kFeatures) {  // write-only: the device cannot tell it back
        tf_.prev[offset] = tf_.cur[offset];
        tf_.cur[offset] = v;
    }
    out8(port, v);  // count, LBA, device: exits only with several CPUs (read back at the command)
}

// Count, LBA and device as the device holds them now, the previous ("HOB") bytes through the
// device control register's HOB bit. With one CPU the monitor does not intercept these ports
// (10 fewer exits per command): the guest cannot write them while the monitor handles its
// command write. issue() writes back what was checked here.
void IdeChannel::read_taskfile() {
    u16 const cmd = ports_.cmd;
    tf_.device = in8(static_cast<u16>(cmd + ide::kDevice));
    for (u8 r = ide::kCount; r <= ide::kLbaHigh; ++r) tf_.cur[r] = in8(static_cast<u16>(cmd + r));
    out8(ports_.ctrl, static_cast<u8>(control_ | ide::kCtlHob));
    for (u8 r = ide::kCount; r <= ide::kLbaHigh; ++r) tf_.prev[r] = in8(static_cast<u16>(cmd + r));
    out8(ports_.ctrl, static_cast<u8>(control_ & ~ide::kCtlHob));
}

u8 IdeChannel::status_read(bool alt) {
    u8 const hw = in8(alt ? ports_.ctrl : static_cast<u16>(ports_.cmd + ide::kStatus));
    if (phase_ == Phase::DmaHeld) return st::kBsy;  // the command waits for the start bit
    if (phase_ == Phase::DmaRun && !(hw & st::kBsy)) {
        // Done once the engine says so too: a read's data must all be in the bounce buffer.
        u8 const bm = in8(static_cast<u16>(ports_.bm + ide::kBmStatus));
        if ((bm & ide::kBmIntr) || !(bm & ide::kBmActive)) dma_finish(false);
    }
    device_seen(hw);
    if (aborted_ && !(hw & st::kBsy)) return static_cast<u8>(st::kDrdy | st::kErr | (hw & 0x10));
    return hw;
}

void IdeChannel::control_write(u8 v) {
    control_ = static_cast<u8>(v & ~ide::kCtlHob);
    out8(ports_.ctrl, v);
    if (v & ide::kCtlSrst) {  // software reset: every command in progress is gone
        if (phase_ == Phase::DmaRun) dma_finish(true);
        reset_state();
        start_requested_ = false;
    }
}

void IdeChannel::reset_state() {
    phase_ = Phase::Idle;
    aborted_ = false;
    buf_pos_ = buf_len_ = 0;
    pio_left_ = 0;
    pio_sealed_ = false;
    packet_ = packet_dma_ = false;
    cdb_len_ = 0;
    sense_patch_ = false;
}

void IdeChannel::refuse(u8 op, char const* why) {
    ++counters_.refused;
    refusal_log(selected(), ata_command_name(op), op, why);
    phase_ = Phase::Idle;
    aborted_ = true;
    abort_error_ = st::kErrAbrt;
    // A harmless stand-in that completes at once and raises the interrupt (if nIEN is
    // clear), so the guest's driver sees its command finish, then reads ERR/ABRT.
    out8(static_cast<u16>(ports_.cmd + ide::kCommand), cmd::kCheckPower);
}

// One refusal's log line, unless the same one on this device was logged often enough already.
void IdeChannel::refusal_log(u8 dev, char const* what, u8 code, char const* why) {
    char device[40], cause[160];
    snprintf(device, sizeof device, "%s.%u", name_, dev);
    snprintf(cause, sizeof cause, "refused %s (%#04x): %s", what, code, why);
    if (env_->log_allowed(device, cause)) env_->log("%s: %s", device, cause);
}

void IdeChannel::command_write(u8 op) {
    if (phase_ == Phase::DmaRun) dma_finish(true);  // a new command ends the old one
    reset_state();
    ++counters_.commands;
    read_taskfile();
    u8 const dev = selected();
    SectorCrypt& crypt = dev_[dev].crypt;
    u16 const features = static_cast<u16>(tf_.cur[1] | tf_.prev[1] << 8);
    u16 const count = static_cast<u16>(tf_.cur[2] | tf_.prev[2] << 8);
    u64 lba = tf_.cur[3] | static_cast<u64>(tf_.cur[4]) << 8 | static_cast<u64>(tf_.cur[5]) << 16 |
              static_cast<u64>(tf_.prev[3]) << 24 | static_cast<u64>(tf_.prev[4]) << 32 |
              static_cast<u64>(tf_.prev[5]) << 40;
    if (op == cmd::kPacket) return packet_command(dev);  // PACKET is off the ATA list: its CDB decides
    AtaCommand c{};
    if (!ata_decode(op, features, count, lba, true, &c)) return refuse(op, "not on the allow-list");
    if (!c.lba48)  // LBA 27:24 live in the device register
        c.lba = Lba{(lba & 0xFFFFFF) | static_cast<u64>(tf_.device & 0x0F) << 24};
    if (c.media) {
        // Sector numbers are the XTS tweak, so an encrypted disk needs LBA addressing. A disk
        // that passes through unencrypted may still be driven with CHS, as older BIOSes do
        // (Bochs' BIOS reads the boot sector that way); its sector number is never needed.
        if (!(tf_.device & ide::kDevLba) && crypt.active())
            return refuse(op, "CHS addressing on an encrypted disk (only LBA is mediated)");
        if (!crypt.allowed(c.lba, c.count)) return refuse(op, "the disk has no key (see docs/ata.md)");
        // PIO moves a write's data after the command is on the device, too late to read the
        // sectors first: one a protecting range covers is refused whole (fail closed, with
        // the rule's audit line; docs/policies.md). Audit ranges only log.
        if (c.dir == Dir::Write && c.proto == Proto::Pio && crypt.write_touches_rules(c.lba, c.count) &&
            !ok(crypt.check_write(c.lba, nullptr, c.count, nullptr)))
            return refuse(op, "PIO write to sectors the file-protection policy covers");
    }
    if (c.proto == Proto::Fpdma) return refuse(op, "queued commands do not exist on IDE");
    if (c.proto == Proto::Pio) {
        phase_ = c.dir == Dir::Read ? Phase::PioIn : Phase::PioOut;
        pio_dev_ = dev;
        pio_media_ = c.media;
        pio_identify_ = op == cmd::kIdentify;
        pio_lba_ = c.lba;
        pio_left_ = c.count;
        pio_bytes_ = c.media ? crypt.sector_size() : 512;
        pio_sealed_ = c.media && c.dir == Dir::Write && crypt.active();
    } else if (c.proto == Proto::Dma) {
        if (!bm_take()) return refuse(op, "the bus-master ports could not be intercepted");
        phase_ = Phase::DmaHeld;
        dma_cmd_ = c;
        dma_tf_ = tf_;
        dma_dev_ = dev;
        if (start_requested_) dma_go();
        return;  // the device gets the command together with the start bit
    }
    issue(op, tf_);
}

// The device executes what its registers hold when the command byte arrives. Another CPU may
// have written them since read_taskfile() (with several CPUs the monitor intercepts them, so
// such a write waits for the channel; with one it cannot happen): the values just checked
// go to the device again, right before the command byte.
void IdeChannel::issue(u8 op, Taskfile const& checked) {
    load_taskfile(checked);
    out8(static_cast<u16>(ports_.cmd + ide::kCommand), op);
}

// ---- PIO ---------------------------------------------------------------------------------

void IdeChannel::data_access(bool in, u8 size, u32* value) {
    if (phase_ == Phase::PacketCdb && !in) return packet_cdb_write(size, *value);
    if (sense_patch_ && in) {
        *value = sense_overlay(size, env_->port_in(ports_.cmd, size));
        return;
    }
    bool const mediated = (phase_ == Phase::PioIn && in) || (phase_ == Phase::PioOut && !in);
    if (!mediated || size == 1) {  // nothing of ours in flight: the device's data as it is
        if (in) *value = env_->port_in(ports_.cmd, size);
        // A device that takes more than count x the IDENTIFY sector size (Bochs 2.7 with
        // sect_size=4096 reports 512) must not get the surplus of an encrypted write in clear.
        else env_->port_out(ports_.cmd, size, pio_sealed_ ? 0 : *value);
        return;
    }
    if (size == 4) {  // two 16-bit transfers on the cable: the first may end a sector, or the command
        u32 lo = *value & 0xFFFF, hi = *value >> 16;
        data_access(in, 2, &lo);
        data_access(in, 2, &hi);
        if (in) *value = (lo & 0xFFFF) | (hi & 0xFFFF) << 16;
        return;
    }
    // From here one word, which fits: buf_pos_ is even and below pio_bytes_ (<= sizeof buf_).
    if (in) {
        if (buf_pos_ >= buf_len_ && !pio_fill()) {
            *value = env_->port_in(ports_.cmd, size);
            return;
        }
        *value = 0;
        memcpy(value, buf_ + buf_pos_, size);
        buf_pos_ += size;
        if (buf_pos_ >= buf_len_) pio_sector_done();
        return;
    }
    memcpy(buf_ + buf_pos_, value, size);
    buf_pos_ += size;
    if (buf_pos_ >= pio_bytes_) pio_flush();
}

// A whole sector from the device, decrypted before the guest sees any of it.
bool IdeChannel::pio_fill() {
    if (pio_left_ == 0) return false;
    env_->port_in_words(ports_.cmd, reinterpret_cast<u16*>(buf_), pio_bytes_ / 2);
    buf_pos_ = 0;
    buf_len_ = pio_bytes_;
    if (pio_media_ && !ok(dev_[pio_dev_].crypt.decrypt(pio_lba_, buf_, 1))) {
        memset(buf_, 0, sizeof buf_);  // never hand out ciphertext as if it were data
        env_->log("%s.%u: PIO sector %llu could not be decrypted", name_, pio_dev_,
                  static_cast<unsigned long long>(pio_lba_.raw));
    }
    if (pio_identify_) {
        u16 id[256];
        memcpy(id, buf_, sizeof id);
        attach_identify(pio_dev_, id);
    }
    return true;
}

void IdeChannel::pio_sector_done() {
    buf_pos_ = buf_len_ = 0;
    pio_lba_ = pio_lba_ + 1;
    ++counters_.pio_sectors;
    if (--pio_left_ == 0) phase_ = Phase::Idle;
}

void IdeChannel::pio_flush() {
    if (pio_left_ == 0) {  // more data than the command moves: the device decides what happens
        env_->port_out_words(ports_.cmd, reinterpret_cast<u16 const*>(buf_), pio_bytes_ / 2);
        buf_pos_ = 0;
        return;
    }
    if (pio_media_ && !ok(dev_[pio_dev_].crypt.encrypt(pio_lba_, buf_, 1))) {
        memset(buf_, 0, sizeof buf_);  // plaintext must never reach the disk
        env_->log("%s.%u: PIO sector %llu could not be encrypted; zeros written", name_, pio_dev_,
                  static_cast<unsigned long long>(pio_lba_.raw));
    }
    env_->port_out_words(ports_.cmd, reinterpret_cast<u16 const*>(buf_), pio_bytes_ / 2);
    pio_sector_done();
}

void IdeChannel::attach_identify(u8 dev, u16 const (&id)[256]) {
    char serial[kSerialBytes];
    identify_serial(id, serial);
    SectorCrypt& c = dev_[dev].crypt;
    bool const first = !c.attached();
    if (!ok(c.attach(serial, logical_sector_size(id))))
        env_->log("%s.%u: logical sector size %u not supported", name_, dev, logical_sector_size(id));
    if (first)
        env_->log("%s.%u: disk '%s', %u-byte sectors: %s", name_, dev, c.disk_name(), c.sector_size(),
                  policy_name(c.policy()));
}

void IdeChannel::probe() {
    u16 const cmd = ports_.cmd;
    if (ports_.bm) {  // the guest's view of the engine starts as the firmware left it
        guest_prd_ = env_->port_in(static_cast<u16>(ports_.bm + ide::kBmPrd), 4);
        bm_cmd_ = in8(static_cast<u16>(ports_.bm + ide::kBmCommand)) & ide::kBmToMemory;
    }
    for (u8 dev = 0; dev < 2; ++dev) {
        control_ = ide::kCtlNien;  // polled: no interrupt before the guest runs
        out8(ports_.ctrl, control_);
        out8(static_cast<u16>(cmd + ide::kDevice), static_cast<u8>(0xA0 | dev << 4));
        u8 s = 0;
        if (!wait_not_busy(*env_, ports_.ctrl, &s) || s == 0xFF || s == 0) continue;  // none, or busy
        out8(static_cast<u16>(cmd + ide::kCommand), cmd::kIdentify);
        in8(ports_.ctrl);  // the 400 ns before status is valid
        if (!wait_not_busy(*env_, ports_.ctrl, &s)) continue;
        if ((s & st::kErr) || !(s & st::kDrq)) {
            // A packet device aborts IDENTIFY DEVICE and shows its signature.
            dev_[dev].atapi = in8(static_cast<u16>(cmd + ide::kLbaMid)) == 0x14 &&
                              in8(static_cast<u16>(cmd + ide::kLbaHigh)) == 0xEB;
            in8(static_cast<u16>(cmd + ide::kStatus));
            if (dev_[dev].atapi) env_->log("%s.%u: packet device (ATAPI mediated, writing media %s)", name_, dev,
                                           cd_write_ ? "allowed" : "refused");
            continue;
        }
        u16 id[256];
        env_->port_in_words(cmd, id, 256);
        in8(static_cast<u16>(cmd + ide::kStatus));  // clears the device's interrupt
        attach_identify(dev, id);
    }
    out8(static_cast<u16>(cmd + ide::kDevice), 0xA0);
}

// ---- bus-master DMA ----------------------------------------------------------------------

void IdeChannel::bm_access(u8 offset, bool in, u8 size, u32* value) {
    u16 const port = static_cast<u16>(ports_.bm + offset);
    if (offset < ide::kBmPrd && size > 1) {  // byte by byte: a start bit in a wide write is still ours
        u32 all = 0;
        for (u8 i = 0; i < size; ++i) {
            u32 b = in ? 0 : (*value >> (8 * i)) & 0xFF;
            bm_access(static_cast<u8>(offset + i), in, 1, &b);
            all |= (b & 0xFF) << (8 * i);
        }
        if (in) *value = all;
        return;
    }
    if (offset >= ide::kBmPrd) {  // the pointer is the guest's own; the device never sees it
        u32 const shift = (offset - ide::kBmPrd) * 8u;
        u32 const mask = (size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu) << shift;
        if (in) *value = (guest_prd_ & mask) >> shift;
        else guest_prd_ = (guest_prd_ & ~mask) | ((*value << shift) & mask);
        return;
    }
    if (offset == ide::kBmCommand && size == 1) {
        if (in) *value = bm_cmd_;
        else bm_command_write(static_cast<u8>(*value));
        return;
    }
    if (in) {
        *value = env_->port_in(port, size);
        if (offset == ide::kBmStatus && phase_ == Phase::DmaRun && (*value & ide::kBmIntr)) dma_finish(false);
        if (offset == ide::kBmStatus && start_requested_) *value |= ide::kBmActive;
        return;
    }
    env_->port_out(port, size, *value);
}

void IdeChannel::bm_command_write(u8 v) {
    bm_cmd_ = v & (ide::kBmStart | ide::kBmToMemory);
    if (v & ide::kBmStart) {
        if (phase_ == Phase::DmaHeld) dma_go();
        else if (phase_ != Phase::DmaRun) start_requested_ = true;  // the command comes next
        return;
    }
    start_requested_ = false;
    bool const was_running = phase_ == Phase::DmaRun;
    out8(static_cast<u16>(ports_.bm + ide::kBmCommand), bm_cmd_);
    if (was_running) dma_finish(true);
}

// From here on the guest's accesses to the engine exit. Until now it reached the engine
// directly, so the device's registers are the guest's view: its pointer, its direction, and
// a start bit set ahead of the command, which is withdrawn from the device (the engine takes
// its table at the rising edge of start, with whatever pointer it holds then) and kept as a
// request, exactly as when the ports exit all along.
bool IdeChannel::bm_take() {
    if (bm_trapped_) return true;
    u16 const bm = ports_.bm;
    u8 const cmd = in8(static_cast<u16>(bm + ide::kBmCommand));
    guest_prd_ = env_->port_in(static_cast<u16>(bm + ide::kBmPrd), 4);
    bm_cmd_ = cmd & (ide::kBmStart | ide::kBmToMemory);
    start_requested_ = (cmd & ide::kBmStart) != 0;
    if (start_requested_) out8(static_cast<u16>(bm + ide::kBmCommand), bm_cmd_ & ide::kBmToMemory);
    if (!env_->set_port_intercept(bm, 8, true)) return false;
    bm_trapped_ = true;
    return true;
}

// After every access: the guest gets the engine back when the monitor needs nothing of it,
// i.e. no DMA command is held, running or possibly still on the device, and no start bit is
// owed. Without a DMA command on the device the engine moves nothing, whatever the guest
// writes there; every DMA command goes through command_write and bm_take first.
void IdeChannel::bm_release_if_idle() {
    if (!bm_trapped_ || bm_fixed_ || !ports_.bm) return;
    if (phase_ == Phase::DmaHeld || phase_ == Phase::DmaRun || dma_on_device_ || start_requested_) return;
    u16 const bm = ports_.bm;
    env_->port_out(static_cast<u16>(bm + ide::kBmPrd), 4, guest_prd_);  // the device may hold the monitor's table
    if (env_->set_port_intercept(bm, 8, false)) bm_trapped_ = false;
    else bm_fixed_ = true;
}

// The device is done with the monitor's DMA command only when it shows neither BSY nor DRQ
// outside a running transfer: an error, a stop or a reset before the data has all moved
// leaves a command behind that a new start edge would resume with the guest's table.
void IdeChannel::device_seen(u8 ata_status) {
    if (dma_on_device_ && phase_ != Phase::DmaRun && !(ata_status & (st::kBsy | st::kDrq))) dma_on_device_ = false;
}

void IdeChannel::load_taskfile(Taskfile const& t) {
    u16 const cmd = ports_.cmd;
    out8(static_cast<u16>(cmd + ide::kDevice), t.device);
    for (u8 r = ide::kFeatures; r <= ide::kLbaHigh; ++r) {
        out8(static_cast<u16>(cmd + r), t.prev[r]);
        out8(static_cast<u16>(cmd + r), t.cur[r]);
    }
}

// Command and start bit are both there: shadow the PRD table, prepare the device's own table
// (and the ciphertext of a write), then give the device the command and the start bit.
void IdeChannel::dma_go() {
    start_requested_ = false;
    if (packet_) return packet_dma_go();
    AtaCommand const& c = dma_cmd_;
    SectorCrypt& crypt = dev_[dma_dev_].crypt;
    u64 const bytes = static_cast<u64>(c.count) * crypt.sector_size();
    bool const to_memory = (bm_cmd_ & ide::kBmToMemory) != 0;
    if (to_memory != (c.dir == Dir::Read)) return refuse(c.command, "bus-master direction differs from the command's");
    ShadowError e = shadow_.load(*env_, Gpa{guest_prd_}, bytes);
    bool const ruled = c.dir == Dir::Write && crypt.write_touches_rules(c.lba, c.count);
    // The storage pipeline's choice: zero-copy unless the data must be transformed or judged in
    // monitor memory (a key, or a write the file-protection policy judges: Volume::direct).
    dma_bounce_ = !crypt.zero_copy(c.lba, c.count, c.dir == Dir::Write);
    if (e == ShadowError::Ok && dma_bounce_ && bytes > dma_.bounce_bytes) e = ShadowError::TooBig;
    if (e != ShadowError::Ok) return refuse(c.command, shadow_error_name(e));
    u32 const n = dma_bounce_ ? build_bounce_prd(dma_.prd, kMaxPrdEntries, dma_.bounce_phys, bytes)
                              : build_direct_prd(dma_.prd, kMaxPrdEntries, shadow_);
    if (n == 0) return refuse(c.command, "no PRD table could be built");
    if (dma_bounce_ && c.dir == Dir::Write) {
        shadow_.copy_from_guest(*env_, dma_.bounce);
        if (ruled && !protect_write(dma_dev_, c.lba, c.count, dma_.bounce))
            return refuse(c.command, "write to bytes the file-protection policy protects");
        if (!ok(crypt.encrypt(c.lba, dma_.bounce, c.count))) return refuse(c.command, "encryption failed");
    }
    bm_start(true);
    counters_.dma_bytes += bytes;
}

// Stopped first, so that the start is a rising edge with the monitor's table in the pointer
// register. For a disk command, issued between the two, a stale interrupt bit (left set by
// the guest) must not pass for this command's completion. A packet command has been with the
// device since its command block (ide_atapi.cpp) and may have ended already, with an
// interrupt the guest has yet to see: its bits stay as they are.
void IdeChannel::bm_start(bool disk_command) {
    u16 const bm = ports_.bm;
    out8(static_cast<u16>(bm + ide::kBmCommand), bm_cmd_ & ide::kBmToMemory);
    if (disk_command) {
        u8 const bms = in8(static_cast<u16>(bm + ide::kBmStatus));
        out8(static_cast<u16>(bm + ide::kBmStatus),
             static_cast<u8>((bms & ide::kBmDriveCapable) | ide::kBmIntr | ide::kBmError));
    }
    env_->port_out(static_cast<u16>(bm + ide::kBmPrd), 4, static_cast<u32>(dma_.prd_phys.raw));
    if (disk_command) issue(dma_cmd_.command, dma_tf_);
    out8(static_cast<u16>(bm + ide::kBmCommand), static_cast<u8>(bm_cmd_ | ide::kBmStart));
    phase_ = Phase::DmaRun;
    dma_on_device_ = true;
    ++counters_.dma_commands;
}

// The transfer is over (or stopped): a successful read's plaintext goes to the guest's
// buffers as the shadow lists them.
void IdeChannel::dma_finish(bool stopped) {
    if (phase_ != Phase::DmaRun) return;
    phase_ = Phase::Idle;
    AtaCommand const& c = dma_cmd_;
    u8 const bm = in8(static_cast<u16>(ports_.bm + ide::kBmStatus));
    u8 const ata = in8(ports_.ctrl);  // alternate status: does not acknowledge the interrupt
    bool const done = (bm & ide::kBmIntr) || !(bm & ide::kBmActive);
    bool const good = done && !(bm & ide::kBmError) && !(ata & (st::kBsy | st::kErr | st::kDf));
    device_seen(ata);
    if (packet_ && sense_patch_ && good) shadow_.copy_to_guest_prefix(*env_, sense_data_, kSenseBytes);
    if (!dma_bounce_ || c.dir != Dir::Read) return;
    if (!good) {
        env_->log("%s.%u: DMA read of LBA %llu %s (bm %#x, status %#x); no data given to the guest", name_,
                  dma_dev_, static_cast<unsigned long long>(c.lba.raw), stopped ? "stopped" : "failed", bm, ata);
        return;
    }
    if (!ok(dev_[dma_dev_].crypt.decrypt(c.lba, dma_.bounce, c.count))) {
        env_->log("%s.%u: DMA read of LBA %llu could not be decrypted", name_, dma_dev_,
                  static_cast<unsigned long long>(c.lba.raw));
        return;
    }
    shadow_.copy_to_guest(*env_, dma_.bounce);
}

}  // namespace tv::ata
