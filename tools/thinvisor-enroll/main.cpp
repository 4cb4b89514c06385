// thinvisor-enroll: enrolls smart cards as keys of an encrypted disk (docs/smartcard.md).
//
//   thinvisor-enroll add KEYSLOTS (--cert F | --pkcs11-module SO [...]) [--card-key N] [--slot N]
//   thinvisor-enroll list KEYSLOTS
//   thinvisor-enroll remove KEYSLOTS --slot N
//   thinvisor-enroll certs (--cert F | --pkcs11-module SO [...])
//   thinvisor-enroll check KEYSLOTS --pkcs11-module SO [...] [--pin-file F]
//
// add and remove need a passphrase of the disk (--passphrase-file F or the terminal), as
// thinvisor-disk's commands do. Exit statuses: thinvisor-disk's (tools/thinvisor-disk/cli.hpp),
// and 7 when no usable certificate was found.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "tools/thinvisor-disk/cli.hpp"
#include "tools/thinvisor-enroll/enroll.hpp"

using namespace tv;
using namespace tv::enroll;
using disk::fail;

namespace {

char const kUsageText[] =
    "usage: thinvisor-enroll COMMAND [KEYSLOTS] [OPTIONS]\n"
    "  add KEYSLOTS           add a card slot for the certificate (needs a passphrase)\n"
    "  list KEYSLOTS          list the slots: cards with subject and serial, passphrases\n"
    "  remove KEYSLOTS        remove the card slot --slot N (needs a passphrase)\n"
    "  certs                  list the certificates the card (or file) holds\n"
    "  check KEYSLOTS         unlock with the card as the monitor would (needs its PIN)\n"
    "options:\n"
    "  --cert F                 the card's certificate from a file (PEM or DER)\n"
    "  --pkcs11-module SO       read it from the card through this PKCS#11 module\n"
    "                           (p11-kit-proxy.so, opensc-pkcs11.so, libsofthsm2.so...)\n"
    "  --pkcs11-init STRING     the module's initialisation string (NSS's libsoftokn3.so:\n"
    "                           \"configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db'\n"
    "                           flags='readOnly'\")\n"
    "  --token LABEL            only this token\n"
    "  --label NAME             only the certificate with this label (several on the token)\n"
    "  --card-key N             which of the card's keys it is (CAC: 0, 1, 2; default 0)\n"
    "  --passphrase-file F      read the disk's passphrase from F instead of the terminal\n"
    "  --pin-file F             read the card's PIN from F instead of the terminal (check)\n"
    "  --slot N                 keyslot to add to (add) or remove (remove)\n"
    "exit status: 0 ok, 1 failure, 2 usage, 3 wrong passphrase or PIN, 4 bad keyslot file,\n"
    "             7 no usable certificate\n";

bool parse_number(char const* s, u64 max, u64& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long const v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return false;
    out = v;
    return true;
}

bool take_value(Options& o, std::string const& name, char const* v) {
    u64 n = 0;
    if (name == "--cert")
        o.cert_file = v;
    else if (name == "--pkcs11-module")
        o.module = v;
    else if (name == "--pkcs11-init")
        o.module_init = v;
    else if (name == "--token")
        o.token = v;
    else if (name == "--label")
        o.label = v;
    else if (name == "--passphrase-file")
        o.passphrase_file = v;
    else if (name == "--pin-file")
        o.pin_file = v;
    else if (name == "--card-key" && parse_number(v, crypto::kKsCardMaxCertIndex, n))
        o.card_key = static_cast<u32>(n);
    else if (name == "--slot" && parse_number(v, 1000, n))
        o.slot = static_cast<i64>(n);
    else
        return false;
    return true;
}

int parse_args(int argc, char** argv, Options& o) {
    if (argc < 2)
        return fail(disk::kUsage, std::string{"missing arguments\n"} + kUsageText);
    o.command = argv[1];
    int i = 2;
    if (o.command != "certs") {
        if (argc < 3)
            return fail(disk::kUsage, o.command + " needs a keyslot file\n" + kUsageText);
        o.keyslots = argv[i++];
    }
    for (; i < argc; ++i) {
        std::string const a = argv[i];
        if (i + 1 < argc && take_value(o, a, argv[i + 1]))
            ++i;
        else
            return fail(disk::kUsage, "bad option or value: " + a);
    }
    return disk::kOk;
}

}  // namespace

int main(int argc, char** argv) {
    disk::g_program = "thinvisor-enroll";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(kUsageText, stdout);
        return disk::kOk;
    }
    Options o;
    if (int const rc = parse_args(argc, argv, o); rc != disk::kOk)
        return rc;
    if (o.command == "add")
        return cmd_add(o);
    if (o.command == "list")
        return cmd_list(o);
    if (o.command == "remove")
        return cmd_remove(o);
    if (o.command == "certs")
        return cmd_certs(o);
    if (o.command == "check")
        return cmd_check(o);
    return fail(disk::kUsage, "unknown command '" + o.command + "'\n" + kUsageText);
}
