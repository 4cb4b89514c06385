// thinvisor-policy: compiles, shows and verifies file-protection policies (docs/policies.md).
//
//   thinvisor-policy compile IMAGE[:PARTITION] RULES -k ADMINKEY.pem -o POLICY --version N
//                            --disk-serial SERIAL [--bus ata|aoe|usb]
//   thinvisor-policy show POLICY
//   thinvisor-policy verify POLICY -p ADMINPUB.pem [--in-force N] [--disk-serial S [--bus B]]
//   thinvisor-policy pubkey (-k ADMINKEY.pem | -p ADMINPUB.pem)   the [policy] pubkey line
//
// Exit status: 0 done, 1 refused (a bad policy, image or rule), 2 usage.
#include <stdio.h>
#include <string.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "policies/policy_build.hpp"
#include "policies/policy_verify.hpp"
#include "tools/thinvisor-policy/resolve.hpp"

using namespace tv;
using namespace tv::policy;
using namespace tv::policytool;

namespace {

int usage() {
    fprintf(stderr,
            "usage: thinvisor-policy compile IMAGE[:PARTITION] RULES -k ADMINKEY.pem -o POLICY --version N\n"
            "                                --disk-serial SERIAL [--bus ata|aoe|usb]\n"
            "       thinvisor-policy show POLICY\n"
            "       thinvisor-policy verify POLICY -p ADMINPUB.pem [--in-force N] [--disk-serial S [--bus B]]\n"
            "       thinvisor-policy pubkey (-k ADMINKEY.pem | -p ADMINPUB.pem)\n");
    return 2;
}

int fail(std::string const& why) {
    fprintf(stderr, "thinvisor-policy: %s\n", why.c_str());
    return 1;
}

bool slurp(std::string const& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream s;
    s << f.rdbuf();
    out = s.str();
    return true;
}

struct Args {
    std::vector<std::string> pos;
    std::map<std::string, std::string> opt;
};

bool parse_args(int argc, char** argv, Args& a) {
    for (int i = 2; i < argc; ++i) {
        std::string const s = argv[i];
        if (s.size() > 1 && s[0] == '-') {
            if (i + 1 >= argc) return false;
            a.opt[s] = argv[++i];
        } else {
            a.pos.push_back(s);
        }
    }
    return true;
}

bool parse_u64(std::string const& s, u64& v) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return false;
    v = std::stoull(s);
    return true;
}

bool bus_of(Args const& a, PolicyBus& b) {
    auto it = a.opt.find("--bus");
    if (it == a.opt.end() || it->second == "ata") return b = PolicyBus::Ata, true;
    if (it->second == "aoe") return b = PolicyBus::Aoe, true;
    return it->second == "usb" && (b = PolicyBus::Usb, true);
}

// A public key file: PEM (its base64 body) or already the one line thinvisor.conf takes.
bool load_pub(std::string const& path, PinnedKey& k, std::string& line) {
    std::string text;
    if (!slurp(path, text)) return false;
    std::istringstream in(text);
    std::string l;
    line.clear();
    while (std::getline(in, l)) {
        while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
        if (l.empty() || l.rfind("-----", 0) == 0) continue;
        line += l;
    }
    return ok(pubkey_from_base64(line.data(), line.size(), k));
}

std::string pub_line_of_key(std::string const& key) {
    u8 der[256];
    u64 const n = public_der_of(reinterpret_cast<u8 const*>(key.c_str()), key.size() + 1, der, sizeof der);
    static char const b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s;
    for (u64 i = 0; i < n; i += 3) {
        u32 v = u32{der[i]} << 16 | (i + 1 < n ? u32{der[i + 1]} << 8 : 0) | (i + 2 < n ? der[i + 2] : 0);
        s += b64[v >> 18 & 63];
        s += b64[v >> 12 & 63];
        s += i + 1 < n ? b64[v >> 6 & 63] : '=';
        s += i + 2 < n ? b64[v & 63] : '=';
    }
    return s;
}

int compile(Args const& a) {
    if (a.pos.size() != 2 || !a.opt.count("-k") || !a.opt.count("-o") || !a.opt.count("--version") ||
        !a.opt.count("--disk-serial"))
        return usage();
    u64 version;
    PolicyBus bus;
    if (!parse_u64(a.opt.at("--version"), version) || version == 0) return fail("--version must be a number >= 1");
    if (!bus_of(a, bus)) return fail("--bus is ata, aoe or usb");
    std::string err, text, key;
    Volume vol;
    std::vector<Rule> rules;
    if (!open_volume(a.pos[0], vol, err)) return fail(err);
    if (!slurp(a.pos[1], text)) return fail(a.pos[1] + ": cannot read");
    if (!parse_rules(text, rules, err)) return fail(a.pos[1] + ": " + err);
    if (!slurp(a.opt.at("-k"), key)) return fail(a.opt.at("-k") + ": cannot read");
    std::vector<ByteRange> raw;
    std::string const fs = detect_fs(vol);
    bool const good = fs == "ext4"   ? resolve_ext4(vol, rules, raw, err)
                      : fs == "fat" ? resolve_fat(vol, rules, raw, err)
                                    : (err = a.pos[0] + ": neither ext2/3/4 nor FAT", false);
    if (!good) return fail(err);
    std::vector<ByteRange> const norm = normalize(raw);
    if (norm.size() > kMaxRanges) return fail("the rules resolve to more than 4096 ranges");
    std::vector<Range> ranges;
    for (ByteRange const& r : norm) ranges.push_back({r.offset, r.length, r.action, r.path.c_str()});
    std::vector<u8> buf(kMaxPolicyBytes);
    BuildInput in{bus, a.opt.at("--disk-serial").c_str(), version, ranges.data(), static_cast<u32>(ranges.size())};
    u64 const len = build_policy(in, buf.data(), buf.size());
    if (len == 0) return fail("the policy could not be built (a bad --disk-serial, or a path table over 64 KiB)");
    if (!ok(sign_policy(buf.data(), len, reinterpret_cast<u8 const*>(key.c_str()), key.size() + 1)))
        return fail(a.opt.at("-k") + ": not an EC P-256 private key");
    std::ofstream out(a.opt.at("-o"), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<char const*>(buf.data()), static_cast<std::streamsize>(len));
    if (!out.flush()) return fail(a.opt.at("-o") + ": cannot write");
    printf("%s: version %llu, disk %s, %zu range(s) from %zu rule(s), %llu bytes\n", a.opt.at("-o").c_str(),
           static_cast<unsigned long long>(version), a.opt.at("--disk-serial").c_str(), ranges.size(), rules.size(),
           static_cast<unsigned long long>(len));
    return 0;
}

void print(PolicyView const& v) {
    printf("format %u, version %llu, disk %s:%s, %u range(s)\n", kFormatVersion,
           static_cast<unsigned long long>(v.version), policy_bus_name(v.bus), v.serial.text,
           v.range_count);
    for (u32 i = 0; i < v.range_count; ++i) {
        Range const r = v.range(i);
        printf("range %llu %llu %s %s  (lba %llu +%llu)\n", static_cast<unsigned long long>(r.offset),
               static_cast<unsigned long long>(r.length), action_name(r.action), r.path,
               static_cast<unsigned long long>(r.offset / 512), static_cast<unsigned long long>(r.offset % 512));
    }
}

int show(Args const& a) {
    if (a.pos.size() != 1) return usage();
    std::string text;
    if (!slurp(a.pos[0], text)) return fail(a.pos[0] + ": cannot read");
    PolicyView v;
    ParseError const e = parse_policy(reinterpret_cast<u8 const*>(text.data()), text.size(), v);
    if (e != ParseError::None) return fail(a.pos[0] + ": " + parse_error_name(e));
    print(v);
    return 0;
}

int verify(Args const& a) {
    if (a.pos.size() != 1 || !a.opt.count("-p")) return usage();
    std::string text, line;
    PinnedKey k;
    if (!load_pub(a.opt.at("-p"), k, line)) return fail(a.opt.at("-p") + ": not an EC P-256 public key");
    if (!slurp(a.pos[0], text)) return fail(a.pos[0] + ": cannot read");
    VerifyRequest req{&k, 0, false, PolicyBus::Ata, {}};
    if (a.opt.count("--in-force") && !parse_u64(a.opt.at("--in-force"), req.version_in_force)) return usage();
    if (a.opt.count("--disk-serial")) {
        std::string const& s = a.opt.at("--disk-serial");
        req.check_disk = true;
        if (!bus_of(a, req.bus) || !ok(crypto::make_serial(s.c_str(), s.size(), req.serial))) return usage();
    }
    PolicyView v;
    ParseError pe = ParseError::None;
    VerifyError const e = verify_policy(reinterpret_cast<u8 const*>(text.data()), text.size(), req, v, &pe);
    if (e != VerifyError::None)
        return fail(a.pos[0] + ": refused: " + verify_error_name(e) +
                    (e == VerifyError::Malformed ? std::string(" (") + parse_error_name(pe) + ")" : ""));
    printf("%s: good signature, version %llu\n", a.pos[0].c_str(), static_cast<unsigned long long>(v.version));
    return 0;
}

int pubkey(Args const& a) {
    std::string text, line;
    PinnedKey k;
    if (a.opt.count("-p")) {
        if (!load_pub(a.opt.at("-p"), k, line)) return fail(a.opt.at("-p") + ": not an EC P-256 public key");
    } else if (a.opt.count("-k")) {
        if (!slurp(a.opt.at("-k"), text)) return fail(a.opt.at("-k") + ": cannot read");
        line = pub_line_of_key(text);
        if (line.empty() || !ok(pubkey_from_base64(line.data(), line.size(), k)))
            return fail(a.opt.at("-k") + ": not an EC P-256 private key");
    } else {
        return usage();
    }
    printf("pubkey = %s\n", line.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    Args a;
    if (!parse_args(argc, argv, a)) return usage();
    std::string const cmd = argv[1];
    if (cmd == "compile") return compile(a);
    if (cmd == "show") return show(a);
    if (cmd == "verify") return verify(a);
    if (cmd == "pubkey") return pubkey(a);
    return usage();
}
