// ATAPI under the IDE mediator: the PACKET command, its command block and its sense. See
// ide_channel.hpp for the whole channel and docs/ata.md ("ATAPI") for the policy.
//
// The device gets PACKET at once (it then asks for the command block with DRQ, as the guest
// expects); the block's 12 bytes written to the data port stay in the monitor (cdb_) until
// all are there, are decoded from that copy, and only that copy reaches the device. A
// refused block is replaced by TEST UNIT READY, a command without data or side effects that
// ends the device's packet command and raises its interrupt; the guest then reads
// CHECK CONDITION (ERR, sense key in the error register) and, from its REQUEST SENSE, the
// refusal's sense data laid over the device's.
#include "drivers/ide/ide_channel.hpp"

#include <string.h>

namespace tv::ata {

namespace {
// An upper bound for one packet DMA: as much as a full PRD table describes.
constexpr u64 kPacketDmaMax = kMaxPrdEntries * kPrdMaxBytes;
}  // namespace

void IdeChannel::packet_command(u8 dev) {
    // A disk the monitor knows never sees a command block: its data is the guest's disk.
    if (dev_[dev].crypt.attached()) return refuse(cmd::kPacket, "PACKET to an ATA disk");
    packet_dma_ = (tf_.cur[ide::kFeatures] & 1) != 0;
    // The engine's ports are the monitor's from here: a start bit written ahead of the block
    // would otherwise run the device's transfer on the guest's own table.
    if (packet_dma_ && !bm_take()) return refuse(cmd::kPacket, "the bus-master ports could not be intercepted");
    packet_ = true;
    packet_dev_ = dev;
    cdb_len_ = 0;
    phase_ = Phase::PacketCdb;
    if (packet_dma_) dma_on_device_ = true;  // until the device is seen idle again
    issue(cmd::kPacket, tf_);
}

void IdeChannel::packet_cdb_write(u8 size, u32 value) {
    for (u8 i = 0; i < size && cdb_len_ < kCdbBytes; ++i) cdb_[cdb_len_++] = static_cast<u8>(value >> (8 * i));
    if (cdb_len_ == kCdbBytes) packet_cdb_done();
}

void IdeChannel::packet_cdb_done() {
    u8 const dev = packet_dev_;
    AtapiCommand c{};
    AtapiVerdict const v = atapi_decode(cdb_, cd_write_, &c);
    bool const owed = sense_pending_[dev] && c.opcode == scsi::kRequestSense;
    Sense const owed_sense = sense_[dev];
    sense_pending_[dev] = false;  // any command clears the last one's sense
    if (v != AtapiVerdict::Allowed) return packet_refuse(c, v);
    if (c.writes)
        env_->log("%s.%u: %s passed ([ide] cd_write = allow)", name_, dev, atapi_command_name(c.opcode));
    u16 words[kCdbBytes / 2];
    memcpy(words, cdb_, sizeof words);
    env_->port_out_words(ports_.cmd, words, kCdbBytes / 2);
    if (owed) {
        atapi_sense_data(owed_sense, sense_data_);
        sense_patch_ = true;
        sense_pos_ = 0;
    }
    phase_ = Phase::Idle;  // PIO data passes word by word: optical media are not encrypted
    if (!packet_dma_) return;
    packet_dir_ = c.dir;
    phase_ = Phase::DmaHeld;
    if (start_requested_) dma_go();
}

void IdeChannel::packet_refuse(AtapiCommand const& c, AtapiVerdict v) {
    Sense const s = atapi_refusal_sense(v);
    ++counters_.refused;
    refusal_log(packet_dev_, atapi_command_name(c.opcode), c.opcode,
                v == AtapiVerdict::RefusedWrite ? "writes media ([ide] cd_write = deny)" : "not on the ATAPI allow-list");
    static constexpr u16 kTestUnitReady[kCdbBytes / 2] = {};
    env_->port_out_words(ports_.cmd, kTestUnitReady, kCdbBytes / 2);
    phase_ = Phase::Idle;
    aborted_ = true;
    abort_error_ = atapi_error_register(s);
    sense_pending_[packet_dev_] = true;
    sense_[packet_dev_] = s;
}

// The device holds an allowed packet command and waits for a transfer the monitor will not
// run (a table outside guest RAM, a direction against the command's). DEVICE RESET is the one
// command a packet device takes in that state; the guest's driver sees its command fail and
// recovers as from any lost command.
void IdeChannel::packet_abandon(char const* why) {
    ++counters_.refused;
    env_->log("%s.%u: packet DMA of %s refused: %s", name_, packet_dev_, atapi_command_name(cdb_[0]), why);
    out8(static_cast<u16>(ports_.cmd + ide::kCommand), cmd::kDeviceReset);
    phase_ = Phase::Idle;
    aborted_ = true;
    abort_error_ = st::kErrAbrt;
}

// The block is with the device, the start bit has come: shadow the guest's table and give the
// engine the monitor's copy (the guest's validated buffers: nothing to decrypt).
void IdeChannel::packet_dma_go() {
    // A command that ended without a data phase (CHECK CONDITION: an unsupported mode page, no
    // medium) needs no engine: the guest's start bit stays a request, shown as active until
    // it stops the engine, as on the hardware, and its interrupt is the device's.
    if (!(in8(ports_.ctrl) & (st::kBsy | st::kDrq))) {
        phase_ = Phase::Idle;
        start_requested_ = true;
        return;
    }
    bool const to_memory = (bm_cmd_ & ide::kBmToMemory) != 0;
    if (packet_dir_ != Dir::None && to_memory != (packet_dir_ == Dir::Read))
        return packet_abandon("bus-master direction differs from the command's");
    ShadowError const e = shadow_.load(*env_, Gpa{guest_prd_}, kPacketDmaMax, false);
    if (e != ShadowError::Ok) return packet_abandon(shadow_error_name(e));
    if (build_direct_prd(dma_.prd, kMaxPrdEntries, shadow_) == 0) return packet_abandon("no PRD table could be built");
    dma_bounce_ = false;
    dma_cmd_ = AtaCommand{};
    dma_cmd_.command = cmd::kPacket;
    dma_cmd_.dir = packet_dir_;
    dma_cmd_.proto = Proto::Dma;
    bm_start(false);
    counters_.dma_bytes += shadow_.total();
}

// A REQUEST SENSE after a refusal: the device's own sense bytes (it saw TEST UNIT READY)
// are replaced, byte for byte as they pass, by the refusal's.
u32 IdeChannel::sense_overlay(u8 size, u32 value) {
    for (u8 i = 0; i < size; ++i, ++sense_pos_) {
        if (sense_pos_ >= kSenseBytes) break;
        value = (value & ~(0xFFu << (8 * i))) | static_cast<u32>(sense_data_[sense_pos_]) << (8 * i);
    }
    return value;
}

}  // namespace tv::ata
