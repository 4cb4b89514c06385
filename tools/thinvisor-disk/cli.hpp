// thinvisor-disk: what the subcommands share. See main.cpp for the command line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"
#include "crypto/keyslot.hpp"

namespace tv::disk {

// Exit statuses, distinct so that scripts (and tests/suites/disk_tool.py) can tell them apart.
enum Exit : int {
    kOk = 0,
    kFailed = 1,          // I/O error or anything else
    kUsage = 2,
    kWrongPassphrase = 3,
    kBadKeyslots = 4,     // keyslot file missing, truncated, corrupt or altered
    kBadImage = 5,        // image size not a multiple of the sector size, not a file...
    kBadJournal = 6,      // an interrupted run's journal does not fit this run
};

struct Options {
    std::string command;
    std::string target;               // KEYSLOTS (key commands) or IMAGE (encrypt/decrypt)
    std::string keyslots;             // --keyslots (encrypt/decrypt)
    std::string passphrase_file;      // --passphrase-file
    std::string new_passphrase_file;  // --new-passphrase-file (add-key)
    u32 sector_size = 0;              // --sector-size; 0: 512 for format, the file's otherwise
    u32 iterations = 0;               // --iterations; 0: calibrate to iter_time_ms
    u32 iter_time_ms = 1000;          // --iter-time
    i64 slot = -1;                    // --slot
    bool force = false;               // --force (format over an existing file)
    bool no_unlock = false;           // --no-unlock (verify)
    bool quiet = false;               // --quiet: no progress output
    // --plaintext FIRST-LAST (encrypt/decrypt, repeatable): sectors left as they are, inclusive,
    // as the [disk.NAME] entry's plaintext ranges (crypto::KeyPolicy decides, as in the monitor)
    std::vector<std::pair<u64, u64>> plaintext;
};

// Prints g_program + ": " + message to stderr; returns code.
int fail(int code, std::string const& message);
extern char const* g_program;  // "thinvisor-disk"; thinvisor-enroll shares these helpers

// A buffer for secrets (passphrases): wiped when destroyed. Never grows after it is filled,
// so no copy is left behind in freed memory.
class Secret {
  public:
    Secret() = default;
    explicit Secret(std::vector<u8>&& v) : bytes_{std::move(v)} {}
    ~Secret();
    Secret(Secret&& o) noexcept : bytes_{std::move(o.bytes_)} {}
    Secret& operator=(Secret&&) noexcept;
    Secret(Secret const&) = delete;
    Secret& operator=(Secret const&) = delete;

    u8 const* data() const { return bytes_.data(); }
    u64 size() const { return bytes_.size(); }
    bool operator==(Secret const& o) const { return bytes_ == o.bytes_; }

  private:
    std::vector<u8> bytes_;
};

// ---- keyfile.cpp: keyslot files, passphrases, randomness ----------------------------------

// Reads and strictly parses a keyslot file. On failure prints why and returns kBadKeyslots
// (or kFailed for an I/O error).
int load_keyslots(std::string const& path, crypto::Keyslots& out);

// Writes atomically (temporary file, fsync, rename, fsync of the directory), mode 0600.
// Refuses to replace an existing file unless replace is set.
int store_keyslots(std::string const& path, crypto::Keyslots const& ks, bool replace);

// The passphrase from --passphrase-file (one trailing newline dropped) or, without one, from
// the terminal with echo off; confirm asks twice. kOk or a printed error.
int read_passphrase(std::string const& file, char const* prompt, bool confirm, Secret& out);

// Unlocks with the passphrase; maps the errors to exit codes with a message.
int unlock(crypto::Keyslots const& ks, Secret const& pass, crypto::MasterKey& mk, u32* slot);

// getrandom(2).
crypto::Random host_random();

// PBKDF2 iterations for the options: --iterations, or calibrated so that one derivation takes
// about --iter-time milliseconds on this machine. Clamped to the format's range.
u32 choose_iterations(Options const& o);

// ---- commands --------------------------------------------------------------------------------
int cmd_format(Options const& o);
int cmd_add_key(Options const& o);
int cmd_remove_key(Options const& o);
int cmd_verify(Options const& o);
int cmd_convert(Options const& o, bool encrypt);  // encrypt / decrypt in place, resumable

}  // namespace tv::disk
