// The journal that makes in-place encrypt/decrypt resumable (IMAGE.tvjournal).
//
// The image is converted in chunks, front to back. For each chunk the tool
//   1. reads the chunk and converts it in memory,
//   2. writes the converted chunk into the journal's data area and fsyncs,
//   3. writes a record "chunk at OFFSET in flight, CRC c" and fsyncs,
//   4. writes the chunk into the image and fsyncs.
// A record therefore only ever names a chunk whose converted bytes are safely in the journal,
// and the image is only written after that. Whenever the tool dies, the newest valid record
// tells where to go on: everything before its chunk is done, and the chunk itself is rewritten
// from the journal (rolling forward; rewriting is idempotent), however much of it step 4 had
// written. Encrypting puts only ciphertext into the journal, never a plaintext copy.
//
// Records and data areas come in pairs used alternately (record number s uses record slot
// s & 1 and data area s & 1): the next chunk's data and record never overwrite what the newest
// valid record refers to. So a crash between steps 2 and 3 of the next chunk, or a record torn
// by a crash, costs nothing: the previous record and its data are still intact. The journal is
// created complete under a temporary name and renamed into place, so a journal without any
// valid record is damage, not a crash, and is refused.
#pragma once

#include <string>

#include "core/types.hpp"
#include "crypto/keyslot_format.hpp"
#include "crypto/le.hpp"

namespace tv::disk {

enum class Op : u32 { Encrypt = 1, Decrypt = 2 };
enum class JournalState : u32 { Idle = 1, InFlight = 2 };

inline constexpr u64 kChunkBytes = 1u << 20;
inline constexpr u64 kJournalDataOffset = 4096;

struct JournalRecordDisk {
    u8 magic[8];                          // "TVJRNL01"
    crypto::Le32 version;                 // 1
    crypto::Le32 op;                      // Op
    crypto::Le64 seq;                     // higher is newer; the slot is seq & 1
    crypto::Le64 image_bytes;             // the image's size when the run started
    crypto::Le32 unit;                    // data unit (sector size)
    crypto::Le32 state;                   // JournalState
    crypto::Le64 boundary;                // bytes [0, boundary) are converted
    crypto::Le64 chunk_offset;            // InFlight: the chunk in the data area goes here
    crypto::Le32 chunk_bytes;
    crypto::Le32 chunk_crc;               // CRC-32 of the chunk in the data area
    u8 ks_uuid[crypto::kKsUuidBytes];     // which keyslot file ...
    u8 ks_check[crypto::kKsCheckBytes];   // ... and which master key the run used
    u8 reserved[396];
    crypto::Le32 crc;                     // CRC-32 of the record with this field as 0
};
static_assert(sizeof(JournalRecordDisk) == 512);

struct JournalRecord {
    Op op{Op::Encrypt};
    u64 seq{0};
    u64 image_bytes{0};
    u32 unit{0};
    JournalState state{JournalState::Idle};
    u64 boundary{0};
    u64 chunk_offset{0};
    u32 chunk_bytes{0};
    u32 chunk_crc{0};
    u8 ks_uuid[crypto::kKsUuidBytes]{};
    u8 ks_check[crypto::kKsCheckBytes]{};
};

std::string journal_path(std::string const& image);

// Reads the newest valid record. 0 and found=false if there is no journal; 0 and found=true
// with rec filled; EBADMSG if the journal exists but holds no valid record; errno otherwise.
int journal_read(std::string const& path, JournalRecord& rec, bool& found);

class Journal final {
  public:
    ~Journal();
    // Creates the journal (atomically, see above) holding rec.
    int create(std::string const& path, JournalRecord const& rec);
    int open_existing(std::string const& path);
    // Writes rec with the next sequence number into the other slot, then fsyncs.
    int write_record(JournalRecord& rec);
    // The data area of the next record, then fsync.
    int write_next_data(u8 const* data, u64 n);
    // The data area of rec (an InFlight record read back after an interruption).
    int read_data(JournalRecord const& rec, u8* data);
    // Removes the journal once the run is complete.
    int remove();

  private:
    std::string path_;
    int fd_{-1};
    u64 seq_{0};
};

}  // namespace tv::disk
