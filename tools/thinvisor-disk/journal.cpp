#include "tools/thinvisor-disk/journal.hpp"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crc32.hpp"
#include "tools/thinvisor-disk/io.hpp"

namespace tv::disk {

using namespace tv::crypto;

namespace {

constexpr u8 kMagic[8] = {'T', 'V', 'J', 'R', 'N', 'L', '0', '1'};

u32 record_crc(JournalRecordDisk const& d) {
    constexpr u32 at = offsetof(JournalRecordDisk, crc);
    return crc32(reinterpret_cast<u8 const*>(&d), at);  // the CRC field is last
}

void encode(JournalRecord const& r, JournalRecordDisk& d) {
    memset(&d, 0, sizeof d);
    memcpy(d.magic, kMagic, sizeof kMagic);
    d.version.set(1);
    d.op.set(static_cast<u32>(r.op));
    d.seq.set(r.seq);
    d.image_bytes.set(r.image_bytes);
    d.unit.set(r.unit);
    d.state.set(static_cast<u32>(r.state));
    d.boundary.set(r.boundary);
    d.chunk_offset.set(r.chunk_offset);
    d.chunk_bytes.set(r.chunk_bytes);
    d.chunk_crc.set(r.chunk_crc);
    memcpy(d.ks_uuid, r.ks_uuid, sizeof d.ks_uuid);
    memcpy(d.ks_check, r.ks_check, sizeof d.ks_check);
    d.crc.set(record_crc(d));
}

// A record is valid if its CRC matches and every field is in range; a torn write fails here.
bool decode(JournalRecordDisk const& d, JournalRecord& r) {
    if (memcmp(d.magic, kMagic, sizeof kMagic) != 0 || d.version.get() != 1 || d.crc.get() != record_crc(d))
        return false;
    u32 const op = d.op.get();
    u32 const state = d.state.get();
    u32 const unit = d.unit.get();
    r.image_bytes = d.image_bytes.get();
    r.boundary = d.boundary.get();
    r.chunk_offset = d.chunk_offset.get();
    r.chunk_bytes = d.chunk_bytes.get();
    if ((op != 1 && op != 2) || (state != 1 && state != 2) || (unit != 512 && unit != 4096) ||
        r.boundary > r.image_bytes || r.boundary % unit != 0)
        return false;
    if (state == 2 && (r.chunk_offset != r.boundary || r.chunk_bytes == 0 || r.chunk_bytes > kChunkBytes ||
                       r.chunk_bytes % unit != 0 || r.chunk_bytes > r.image_bytes - r.chunk_offset))
        return false;
    r.op = static_cast<Op>(op);
    r.state = static_cast<JournalState>(state);
    r.unit = unit;
    r.seq = d.seq.get();
    r.chunk_crc = d.chunk_crc.get();
    memcpy(r.ks_uuid, d.ks_uuid, sizeof r.ks_uuid);
    memcpy(r.ks_check, d.ks_check, sizeof r.ks_check);
    return true;
}

}  // namespace

std::string journal_path(std::string const& image) { return image + ".tvjournal"; }

int journal_read(std::string const& path, JournalRecord& rec, bool& found) {
    found = false;
    int const fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : errno;
    JournalRecordDisk slots[2];
    int const rc = pread_full(fd, reinterpret_cast<u8*>(slots), sizeof slots, 0);
    close(fd);
    JournalRecord a;
    JournalRecord b;
    bool const va = rc == 0 && decode(slots[0], a);
    bool const vb = rc == 0 && decode(slots[1], b);
    if (!va && !vb)
        return EBADMSG;
    rec = (va && (!vb || a.seq > b.seq)) ? a : b;
    found = true;
    return 0;
}

Journal::~Journal() {
    if (fd_ >= 0)
        close(fd_);
}

int Journal::create(std::string const& path, JournalRecord const& rec) {
    JournalRecordDisk slots[2];
    JournalRecord first = rec;
    first.seq = 0;  // slot 0; slot 1 stays invalid (all zero) until the next record
    encode(first, slots[0]);
    memset(&slots[1], 0, sizeof slots[1]);
    // The caller holds the image's lock: a fixed temporary name is safe and a leftover from a
    // run killed right here is overwritten rather than piling up.
    if (int const rc = write_file_atomically(path, reinterpret_cast<u8 const*>(slots), sizeof slots, 0600,
                                             path + ".new");
        rc != 0)
        return rc;
    return open_existing(path);
}

int Journal::open_existing(std::string const& path) {
    JournalRecord rec;
    bool found = false;
    if (int const rc = journal_read(path, rec, found); rc != 0 || !found)
        return rc != 0 ? rc : ENOENT;
    path_ = path;
    seq_ = rec.seq;
    fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
    return fd_ < 0 ? errno : 0;
}

int Journal::write_record(JournalRecord& rec) {
    rec.seq = ++seq_;
    JournalRecordDisk d;
    encode(rec, d);
    u64 const at = (rec.seq & 1) * sizeof d;  // never the slot holding the current state
    if (int const rc = pwrite_full(fd_, reinterpret_cast<u8 const*>(&d), sizeof d, at); rc != 0)
        return rc;
    return fdatasync(fd_) == 0 ? 0 : errno;
}

int Journal::write_next_data(u8 const* data, u64 n) {
    u64 const at = kJournalDataOffset + ((seq_ + 1) & 1) * kChunkBytes;
    if (int const rc = pwrite_full(fd_, data, n, at); rc != 0)
        return rc;
    return fdatasync(fd_) == 0 ? 0 : errno;
}

int Journal::read_data(JournalRecord const& rec, u8* data) {
    return pread_full(fd_, data, rec.chunk_bytes, kJournalDataOffset + (rec.seq & 1) * kChunkBytes);
}

int Journal::remove() {
    if (fd_ >= 0)
        close(fd_);
    fd_ = -1;
    if (unlink(path_.c_str()) != 0)
        return errno;
    return sync_parent_dir(path_);
}

}  // namespace tv::disk
