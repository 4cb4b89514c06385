// encrypt / decrypt: convert a disk image in place, resumably (the protocol: journal.hpp).
//
// Everything that can be refused is checked before the image is opened for writing: the
// keyslot file, the sector size, the image's size, an interrupted run's journal, the
// passphrase. A refused run leaves the image byte for byte as it was.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "crypto/crc32.hpp"
#include "crypto/key_policy.hpp"
#include "crypto/xts.hpp"
#include "tools/thinvisor-disk/cli.hpp"
#include "tools/thinvisor-disk/io.hpp"
#include "tools/thinvisor-disk/journal.hpp"
#include "tools/thinvisor-disk/progress.hpp"

namespace tv::disk {

using namespace tv::crypto;

namespace {

char const* op_name(Op op) { return op == Op::Encrypt ? "encrypt" : "decrypt"; }

// Fault injection for tests/suites/disk_tool.py, which must be able to kill the tool in every
// window of the journal protocol, not only where a timed kill happens to land:
// THINVISOR_DISK_CRASH=STEP:N sends the process SIGKILL at STEP of chunk N. STEP is one of
// created (journal created), data, record, image (after that step's write and sync), half
// (half of the chunk written to the image, unsynced) and done (final record, journal not yet
// removed).
bool crash_wanted(char const* step, u64 chunk) {
    static char const* const spec = getenv("THINVISOR_DISK_CRASH");
    if (spec == nullptr)
        return false;
    std::string const want = std::string{step} + ":" + std::to_string(chunk);
    return want == spec;
}

void crash_point(char const* step, u64 chunk) {
    if (crash_wanted(step, chunk))
        raise(SIGKILL);
}

int check_image(std::string const& path, u32 unit, u64& size) {
    int const fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(kBadImage, path + ": " + strerror(errno));
    int const rc = device_size(fd, size);
    close(fd);
    if (rc != 0)
        return fail(kBadImage, path + ": not a regular file or block device (" + strerror(rc) + ")");
    if (size == 0)
        return fail(kBadImage, path + ": the image is empty");
    if (size % unit != 0)
        return fail(kBadImage, path + ": image size " + std::to_string(size) +
                                   " is not a multiple of the sector size " + std::to_string(unit));
    return kOk;
}

// An interrupted run must be finished by the same operation with the same key and image.
int check_journal(std::string const& jpath, Op op, Keyslots const& ks, u64 size, JournalRecord& rec,
                  bool& found) {
    int const rc = journal_read(jpath, rec, found);
    if (rc == EBADMSG)
        return fail(kBadJournal, jpath + ": the journal is damaged (no valid record); the image may be "
                                         "partly converted, so nothing was done");
    if (rc != 0)
        return fail(kFailed, jpath + ": " + strerror(rc));
    if (!found)
        return kOk;
    if (rec.op != op)
        return fail(kBadJournal, "an interrupted " + std::string{op_name(rec.op)} + " is pending (" + jpath +
                                     "): run " + op_name(rec.op) + " again to finish it first");
    if (memcmp(rec.ks_uuid, ks.uuid, sizeof ks.uuid) != 0 || memcmp(rec.ks_check, ks.check, sizeof ks.check) != 0)
        return fail(kBadJournal, jpath + ": the interrupted run used a different keyslot file");
    if (rec.image_bytes != size || rec.unit != ks.data_unit)
        return fail(kBadJournal, jpath + ": the image's size or sector size changed since the interrupted run");
    return kOk;
}

// Rewrites the chunk an interrupted run had in flight from the journal (roll forward).
int replay(Journal& j, JournalRecord const& rec, int img) {
    std::vector<u8> buf(rec.chunk_bytes);
    if (int const rc = j.read_data(rec, buf.data()); rc != 0)
        return fail(kBadJournal, std::string{"cannot read the journal's data: "} + strerror(rc));
    if (crc32(buf.data(), buf.size()) != rec.chunk_crc)
        return fail(kBadJournal, "the journal's data is damaged; nothing was written");
    if (int const rc = pwrite_full(img, buf.data(), buf.size(), rec.chunk_offset); rc != 0)
        return fail(kFailed, std::string{"write: "} + strerror(rc));
    return fdatasync(img) == 0 ? kOk : fail(kFailed, std::string{"fsync: "} + strerror(errno));
}

// The image as one disk of a KeyPolicy, so that its plaintext ranges are decided exactly as
// the monitor decides them (storage/ asks the same class).
struct ImagePolicy {
    KeyPolicy policy;
    DiskSerial serial;
};

int make_policy(Options const& o, ImagePolicy& p) {
    if (!ok(make_serial("image", 5, p.serial)) || !ok(p.policy.add_disk(p.serial, KeyId{0})))
        return fail(kFailed, "the key policy refused the image");
    for (auto const& [first, last] : o.plaintext) {
        u64 const count = last - first + 1;  // 0 for the whole 64-bit range: refused below
        Status const s = p.policy.add_plaintext_range(p.serial, Lba{first}, count);
        if (s == Status::Exists)
            return fail(kUsage, "--plaintext ranges overlap");
        if (!ok(s))
            return fail(kUsage, "bad or too many --plaintext ranges");
    }
    return kOk;
}

struct Converter {
    Xts& xts;
    ImagePolicy const& image;
    Journal& journal;
    JournalRecord& rec;
    int img;
    bool encrypt;

    // XTS on the sectors of buf that are not in a plaintext range.
    Status crypt_runs(u8* buf, Lba lba, u64 sectors) {
        while (sectors != 0) {
            Decision const d = image.policy.decide(image.serial, lba, sectors);
            if (d.sectors == 0 || d.sectors > sectors)
                return Status::Invalid;
            if (d.treatment == Treatment::Encrypt) {
                Status const s = encrypt ? xts.encrypt_sectors(lba, rec.unit, buf, buf, d.sectors)
                                         : xts.decrypt_sectors(lba, rec.unit, buf, buf, d.sectors);
                if (!ok(s))
                    return s;
            }
            lba.raw += d.sectors;
            buf += d.sectors * rec.unit;
            sectors -= d.sectors;
        }
        return Status::Ok;
    }

    // One chunk, the four steps of journal.hpp.
    int chunk(std::vector<u8>& buf, u64 off, u64 n) {
        if (int const rc = pread_full(img, buf.data(), n, off); rc != 0)
            return fail(kFailed, std::string{"read: "} + strerror(rc));
        if (!ok(crypt_runs(buf.data(), Lba{off / rec.unit}, n / rec.unit)))
            return fail(kFailed, "the cipher failed");
        if (int const rc = journal.write_next_data(buf.data(), n); rc != 0)
            return fail(kFailed, std::string{"journal: "} + strerror(rc));
        crash_point("data", off / kChunkBytes);
        rec.state = JournalState::InFlight;
        rec.boundary = rec.chunk_offset = off;
        rec.chunk_bytes = static_cast<u32>(n);
        rec.chunk_crc = crc32(buf.data(), n);
        if (int const rc = journal.write_record(rec); rc != 0)
            return fail(kFailed, std::string{"journal: "} + strerror(rc));
        crash_point("record", off / kChunkBytes);
        if (crash_wanted("half", off / kChunkBytes) && pwrite_full(img, buf.data(), n / 2, off) == 0)
            raise(SIGKILL);
        if (int const rc = pwrite_full(img, buf.data(), n, off); rc != 0)
            return fail(kFailed, std::string{"write: "} + strerror(rc));
        if (fdatasync(img) != 0)
            return fail(kFailed, std::string{"fsync: "} + strerror(errno));
        crash_point("image", off / kChunkBytes);
        return kOk;
    }

    int run(u64 start, bool quiet) {
        Progress progress{encrypt ? "encrypt" : "decrypt", rec.image_bytes, quiet};
        progress.update(start);
        std::vector<u8> buf(kChunkBytes);
        for (u64 off = start; off < rec.image_bytes;) {
            u64 const n = rec.image_bytes - off < kChunkBytes ? rec.image_bytes - off : kChunkBytes;
            if (int const rc = chunk(buf, off, n); rc != kOk)
                return rc;
            off += n;
            progress.update(off);
        }
        progress.finish();
        rec.state = JournalState::Idle;
        rec.boundary = rec.image_bytes;
        if (int const rc = journal.write_record(rec); rc != 0)
            return fail(kFailed, std::string{"journal: "} + strerror(rc));
        crash_point("done", 0);
        int const rc = journal.remove();
        return rc == 0 ? kOk : fail(kFailed, std::string{"removing the journal: "} + strerror(rc));
    }
};

// Opens the journal (new or interrupted) and returns where conversion continues.
int start_journal(Journal& j, std::string const& jpath, JournalRecord& rec, bool resume, int img, u64& start) {
    if (!resume) {
        if (int const rc = j.create(jpath, rec); rc != 0)
            return fail(kFailed, jpath + ": " + strerror(rc));
        crash_point("created", 0);
        start = 0;
        return kOk;
    }
    if (int const rc = j.open_existing(jpath); rc != 0)
        return fail(kBadJournal, jpath + ": " + strerror(rc));
    start = rec.boundary;
    fprintf(stderr, "thinvisor-disk: resuming the interrupted %s at %llu%%\n", op_name(rec.op),
            static_cast<unsigned long long>(rec.boundary * 100 / rec.image_bytes));
    if (rec.state == JournalState::InFlight) {
        if (int const rc = replay(j, rec, img); rc != kOk)
            return rc;
        start = rec.chunk_offset + rec.chunk_bytes;
    }
    return kOk;
}

int open_for_writing(std::string const& path, int& fd) {
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(kFailed, path + ": " + strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        return fail(kFailed, path + ": in use by another process (" + strerror(errno) + ")");
    return kOk;
}

}  // namespace

int cmd_convert(Options const& o, bool encrypt) {
    Op const op = encrypt ? Op::Encrypt : Op::Decrypt;
    ImagePolicy image;
    if (int const rc = make_policy(o, image); rc != kOk)
        return rc;
    Keyslots ks;
    if (int const rc = load_keyslots(o.keyslots, ks); rc != kOk)
        return rc;
    if (o.sector_size != 0 && o.sector_size != ks.data_unit)
        return fail(kUsage, "--sector-size " + std::to_string(o.sector_size) + " does not match the keyslot file (" +
                                std::to_string(ks.data_unit) + ")");
    u64 size = 0;
    if (int const rc = check_image(o.target, ks.data_unit, size); rc != kOk)
        return rc;
    std::string const jpath = journal_path(o.target);
    JournalRecord rec;
    bool resume = false;
    if (int const rc = check_journal(jpath, op, ks, size, rec, resume); rc != kOk)
        return rc;
    Secret pass;
    if (int const rc = read_passphrase(o.passphrase_file, "Passphrase: ", false, pass); rc != kOk)
        return rc;
    MasterKey mk;
    if (int const rc = unlock(ks, pass, mk, nullptr); rc != kOk)
        return rc;
    Xts xts;
    if (!ok(xts.set_key(mk.bytes)))
        return fail(kFailed, "the master key was refused by XTS");
    int img = -1;
    if (int const rc = open_for_writing(o.target, img); rc != kOk)
        return rc;
    if (!resume) {
        rec = JournalRecord{op, 0, size, ks.data_unit, JournalState::Idle, 0, 0, 0, 0, {}, {}};
        memcpy(rec.ks_uuid, ks.uuid, sizeof ks.uuid);
        memcpy(rec.ks_check, ks.check, sizeof ks.check);
    }
    Journal journal;
    u64 start = 0;
    int rc = start_journal(journal, jpath, rec, resume, img, start);
    if (rc == kOk)
        rc = Converter{xts, image, journal, rec, img, encrypt}.run(start, o.quiet);
    close(img);
    if (rc == kOk)
        printf("%sed %s (%llu bytes, %u-byte sectors, %s)\n", op_name(op), o.target.c_str(),
               static_cast<unsigned long long>(size), ks.data_unit, engine_name(xts.engine()));
    return rc;
}

}  // namespace tv::disk
