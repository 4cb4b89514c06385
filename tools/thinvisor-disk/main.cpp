// thinvisor-disk: prepares disks for thinvisor's transparent encryption, offline.
//
//   thinvisor-disk format KEYSLOTS [--sector-size 512|4096] [--iterations N | --iter-time MS]
//                                  [--slot N] [--force]
//   thinvisor-disk add-key KEYSLOTS [--new-passphrase-file F] [--slot N] [--iterations N | ...]
//   thinvisor-disk remove-key KEYSLOTS --slot N
//   thinvisor-disk verify KEYSLOTS [--no-unlock]
//   thinvisor-disk encrypt IMAGE --keyslots KEYSLOTS [--sector-size N] [--plaintext A-B]... [--quiet]
//   thinvisor-disk decrypt IMAGE --keyslots KEYSLOTS [--sector-size N] [--plaintext A-B]... [--quiet]
//
// Every command that needs a passphrase reads it from --passphrase-file F or, without that
// option, from the terminal. encrypt and decrypt work in place and are resumable: a journal
// (IMAGE.tvjournal) makes an interrupted run continue where it stopped when started again.
// Exit statuses: see cli.hpp.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "tools/thinvisor-disk/cli.hpp"

using namespace tv;
using namespace tv::disk;

namespace {

char const kUsageText[] =
    "usage: thinvisor-disk COMMAND ARGS [OPTIONS]\n"
    "  format KEYSLOTS        create a keyslot file with a new random master key\n"
    "  add-key KEYSLOTS       add a passphrase (needs an existing one)\n"
    "  remove-key KEYSLOTS    remove the passphrase in --slot N (needs a passphrase)\n"
    "  verify KEYSLOTS        check the file and, unless --no-unlock, a passphrase\n"
    "  encrypt IMAGE          encrypt a disk image in place (--keyslots F), resumable\n"
    "  decrypt IMAGE          decrypt a disk image in place (--keyslots F), resumable\n"
    "options:\n"
    "  --keyslots F             the keyslot file (encrypt, decrypt)\n"
    "  --passphrase-file F      read the passphrase from F instead of the terminal\n"
    "  --new-passphrase-file F  the passphrase to add (add-key)\n"
    "  --sector-size 512|4096   the data unit (format; elsewhere it must match the file)\n"
    "  --plaintext FIRST-LAST   sectors left unencrypted, as thinvisor.conf's plaintext =\n"
    "                           (encrypt, decrypt; repeatable; the same again to resume)\n"
    "  --iterations N           PBKDF2 iterations instead of calibrating\n"
    "  --iter-time MS           calibrate PBKDF2 to about MS milliseconds (default 1000)\n"
    "  --slot N                 keyslot to add to (add-key, format) or remove (remove-key)\n"
    "  --force                  let format replace an existing keyslot file\n"
    "  --no-unlock              verify the file only\n"
    "  --quiet                  no progress output\n";

bool parse_number(char const* s, u64 max, u64& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long const v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return false;
    out = v;
    return true;
}

// FIRST-LAST, decimal, FIRST <= LAST.
bool parse_range(Options& o, char const* v) {
    char const* dash = strchr(v, '-');
    if (dash == nullptr)
        return false;
    std::string const first{v, static_cast<size_t>(dash - v)};
    u64 a = 0;
    u64 b = 0;
    if (!parse_number(first.c_str(), ~0ull, a) || !parse_number(dash + 1, ~0ull, b) || a > b)
        return false;
    o.plaintext.emplace_back(a, b);
    return true;
}

// One option with a value; false if it is not one of them or its value is bad.
bool take_value(Options& o, std::string const& name, char const* v) {
    u64 n = 0;
    if (name == "--keyslots")
        o.keyslots = v;
    else if (name == "--passphrase-file")
        o.passphrase_file = v;
    else if (name == "--new-passphrase-file")
        o.new_passphrase_file = v;
    else if (name == "--sector-size" && parse_number(v, 4096, n))
        o.sector_size = static_cast<u32>(n);
    else if (name == "--iterations" && parse_number(v, 0xFFFFFFFF, n))
        o.iterations = static_cast<u32>(n);
    else if (name == "--iter-time" && parse_number(v, 600000, n) && n > 0)
        o.iter_time_ms = static_cast<u32>(n);
    else if (name == "--slot" && parse_number(v, 1000, n))
        o.slot = static_cast<i64>(n);
    else if (name == "--plaintext")
        return parse_range(o, v);
    else
        return false;
    return true;
}

int parse_args(int argc, char** argv, Options& o) {
    if (argc < 3)
        return fail(kUsage, std::string{"missing arguments\n"} + kUsageText);
    o.command = argv[1];
    o.target = argv[2];
    for (int i = 3; i < argc; ++i) {
        std::string const a = argv[i];
        if (a == "--force")
            o.force = true;
        else if (a == "--no-unlock")
            o.no_unlock = true;
        else if (a == "--quiet")
            o.quiet = true;
        else if (i + 1 < argc && take_value(o, a, argv[i + 1]))
            ++i;
        else
            return fail(kUsage, "bad option or value: " + a);
    }
    return kOk;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(kUsageText, stdout);
        return kOk;
    }
    Options o;
    if (int const rc = parse_args(argc, argv, o); rc != kOk)
        return rc;
    if (o.command == "format")
        return cmd_format(o);
    if (o.command == "add-key")
        return cmd_add_key(o);
    if (o.command == "remove-key")
        return cmd_remove_key(o);
    if (o.command == "verify")
        return cmd_verify(o);
    if (o.command == "encrypt" || o.command == "decrypt") {
        if (o.keyslots.empty())
            return fail(kUsage, o.command + " needs --keyslots F");
        return cmd_convert(o, o.command == "encrypt");
    }
    return fail(kUsage, "unknown command '" + o.command + "'\n" + kUsageText);
}
