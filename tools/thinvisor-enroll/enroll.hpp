// thinvisor-enroll: what its files share. See main.cpp for the command line.
#pragma once

#include <string>
#include <vector>

#include "core/types.hpp"
#include "crypto/keyslot_format.hpp"
#include "tools/thinvisor-disk/cli.hpp"

namespace tv::enroll {

// Exit statuses: thinvisor-disk's (tools/thinvisor-disk/cli.hpp) plus kBadCard.
inline constexpr int kBadCard = 7;  // no usable certificate: none found, several, not RSA, too large

struct Options {
    std::string command;
    std::string keyslots;
    std::string cert_file;         // --cert F (PEM or DER)
    std::string module;            // --pkcs11-module SO
    std::string module_init;       // --pkcs11-init STRING: CK_C_INITIALIZE_ARGS.pReserved (NSS softokn)
    std::string token;             // --token LABEL: only this token
    std::string label;             // --label NAME: only the certificate with this CKA_LABEL
    std::string passphrase_file;   // --passphrase-file F
    std::string pin_file;          // --pin-file F (check)
    u32 card_key = 0;              // --card-key N: the card's key index (CAC PKI applet)
    i64 slot = -1;                 // --slot N
};

// A certificate as far as enrolling needs it.
struct Cert {
    std::vector<u8> der;
    u8 sha256[32]{};
    std::string subject;           // the whole DN, for messages
    std::string cn;                // the common name (or the DN if it has none)
    std::vector<u8> serial;        // big-endian
    std::vector<u8> n, e;          // RSA public key
    std::string where;             // "FILE" or "token 'T', label 'L'"
};

// Parses a PEM or DER certificate; kOk or a printed error (kBadCard).
int parse_cert(std::vector<u8> const& data, std::string const& where, Cert& out);

// The certificates the options name: the file, or the PKCS#11 module's certificate objects
// (filtered by --token and --label). kOk or a printed error.
int read_certs(Options const& o, std::vector<Cert>& out);
int read_pkcs11_certs(Options const& o, std::vector<Cert>& out);

// The card's raw RSA private-key operation (CKM_RSA_X_509) on in, with the key that belongs to
// cert, after logging in with pin: what the monitor asks the card for at boot.
int pkcs11_raw_rsa(Options const& o, Cert const& cert, disk::Secret const& pin, std::vector<u8> const& in,
                   std::vector<u8>& out);

std::string hex(u8 const* p, u64 n, char sep = '\0');

int cmd_add(Options const& o);
int cmd_list(Options const& o);
int cmd_remove(Options const& o);
int cmd_certs(Options const& o);
int cmd_check(Options const& o);

}  // namespace tv::enroll
