// Certificates for enrolling: PEM or DER through mbedTLS's X.509 parser; only RSA keys that fit a
// card slot (up to 2048 bits, at least 1040: OAEP of a 64-byte key) are accepted.
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <string.h>

#include "tools/thinvisor-disk/cli.hpp"
#include "tools/thinvisor-enroll/enroll.hpp"

namespace tv::enroll {

namespace {

class Crt final {
  public:
    Crt() { mbedtls_x509_crt_init(&crt_); }
    ~Crt() { mbedtls_x509_crt_free(&crt_); }
    Crt(Crt const&) = delete;
    Crt& operator=(Crt const&) = delete;
    mbedtls_x509_crt* get() { return &crt_; }

  private:
    mbedtls_x509_crt crt_;
};

std::string common_name(mbedtls_x509_name const* name) {
    for (; name != nullptr; name = name->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &name->oid) == 0)
            return std::string{reinterpret_cast<char const*>(name->val.p), name->val.len};
    }
    return {};
}

int rsa_key(mbedtls_x509_crt* crt, Cert& out) {
    if (mbedtls_pk_get_type(&crt->pk) != MBEDTLS_PK_RSA)
        return disk::fail(kBadCard, out.where + ": the certificate's key is not RSA (only RSA cards are supported)");
    mbedtls_rsa_context* rsa = mbedtls_pk_rsa(crt->pk);
    u64 const k = mbedtls_rsa_get_len(rsa);
    if (k < crypto::kKsCardMinRsaBytes || k > crypto::kKsCardMaxRsaBytes)
        return disk::fail(kBadCard, out.where + ": RSA-" + std::to_string(k * 8) +
                                        " does not fit a card slot (1040 to 2048 bits)");
    out.n.assign(k, 0);
    out.e.assign(8, 0);
    if (mbedtls_rsa_export_raw(rsa, out.n.data(), out.n.size(), nullptr, 0, nullptr, 0, nullptr, 0,
                               out.e.data(), out.e.size()) != 0)
        return disk::fail(kBadCard, out.where + ": cannot read the RSA key");
    return disk::kOk;
}

}  // namespace

std::string hex(u8 const* p, u64 n, char sep) {
    static char const kDigits[] = "0123456789abcdef";
    std::string s;
    for (u64 i = 0; i < n; ++i) {
        if (sep != '\0' && i != 0)
            s += sep;
        s += kDigits[p[i] >> 4];
        s += kDigits[p[i] & 15];
    }
    return s;
}

int parse_cert(std::vector<u8> const& data, std::string const& where, Cert& out) {
    out.where = where;
    std::vector<u8> buf = data;
    bool const pem = buf.size() > 10 && std::string(buf.begin(), buf.begin() + 10) == "-----BEGIN";
    if (pem)
        buf.push_back(0);  // mbedTLS wants PEM text NUL-terminated, length included
    Crt crt;
    if (mbedtls_x509_crt_parse(crt.get(), buf.data(), buf.size()) != 0 || crt.get()->raw.len == 0)
        return disk::fail(kBadCard, where + ": not an X.509 certificate (PEM or DER)");
    mbedtls_x509_crt const* c = crt.get();
    out.der.assign(c->raw.p, c->raw.p + c->raw.len);
    if (mbedtls_sha256_ret(out.der.data(), out.der.size(), out.sha256, 0) != 0)
        return disk::fail(disk::kFailed, "SHA-256 failed");
    char dn[512];
    out.subject = mbedtls_x509_dn_gets(dn, sizeof dn, &c->subject) > 0 ? dn : "";
    out.cn = common_name(&c->subject);
    if (out.cn.empty())
        out.cn = out.subject;
    out.serial.assign(c->serial.p, c->serial.p + c->serial.len);
    while (out.serial.size() > 1 && out.serial[0] == 0)  // DER's sign byte is not part of the number
        out.serial.erase(out.serial.begin());
    if (out.serial.empty() || out.serial.size() > crypto::kKsCardSerialBytes)
        return disk::fail(kBadCard, where + ": the serial number is longer than 20 bytes");
    return rsa_key(crt.get(), out);
}

}  // namespace tv::enroll
