// libFuzzer target for the policy parser (policies/policy_format). Built by mk/unit.mk's
// harness rule (mk/policy.mk names its sources); seeds in tests/unit/corpus/policy/.
//
// Odd first byte: the rest is parsed as it is. Even first byte: the rest is laid over a valid
// three-range policy (header fields included), so the fuzzer starts past the magic and the
// length checks and reaches every field, order and path check.
// Invariants of an accepted policy: its lengths add up to the input's, every range is
// non-empty, sorted, disjoint and on the disk, every path is inside the table, terminated,
// non-empty and printable.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_input.hpp"
#include "policies/policy_format.hpp"

using namespace tv;
using namespace tv::policy;

namespace {

constexpr char kPaths[] = "/bin/ls\0/etc/passwd";  // two paths, both NUL-terminated
constexpr u32 kPathBytes = sizeof kPaths;
constexpr u64 kBaseLen = sizeof(PolicyHeader) + 3 * sizeof(PolicyRange) + kPathBytes + kSignatureBytes;

void base(u8* b) {
    memset(b, 0, kBaseLen);
    auto& h = *reinterpret_cast<PolicyHeader*>(b);
    memcpy(h.magic, kMagic, sizeof kMagic);
    h.format_version.set(kFormatVersion);
    h.serial_len = 7;
    memcpy(h.serial, "QM00001", 7);
    h.policy_version.set(1);
    h.range_count.set(3);
    h.path_bytes.set(kPathBytes);
    auto* r = reinterpret_cast<PolicyRange*>(b + sizeof(PolicyHeader));
    u64 const offs[3] = {4096, 8192, 1049600}, lens[3] = {4096, 100, 256};
    for (int i = 0; i < 3; ++i) {
        r[i].offset.set(offs[i]);
        r[i].length.set(lens[i]);
        r[i].action = static_cast<u8>(i + 1);
        r[i].path_offset.set(i == 2 ? 8 : 0);
    }
    memcpy(b + sizeof(PolicyHeader) + 3 * sizeof(PolicyRange), kPaths, kPathBytes);
}

void check_view(PolicyView const& v, u64 len) {
    check(v.signed_len + kSignatureBytes == len, "lengths add up");
    check(v.range_count >= 1 && v.range_count <= kMaxRanges, "range count within the cap");
    u64 end = 0;
    for (u32 i = 0; i < v.range_count; ++i) {
        Range const r = v.range(i);
        check(r.length > 0 && r.offset >= end, "ranges sorted, disjoint, non-empty");
        check(r.offset + r.length <= kMaxDiskBytes, "range on the disk");
        end = r.offset + r.length;
        check(r.path >= v.paths && r.path < v.paths + v.path_bytes, "path inside the table");
        size_t const n = strnlen(r.path, static_cast<size_t>(v.paths + v.path_bytes - r.path));
        check(n > 0 && n <= kMaxPathLen && r.path + n < v.paths + v.path_bytes, "path terminated");
        check(action_name(r.action)[0] != '?', "known action");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    if (size == 0) return 0;
    static u8 buf[kMaxPolicyBytes + 1];
    u64 len;
    if (data[0] & 1) {
        len = size - 1 < sizeof buf ? size - 1 : sizeof buf;
        memcpy(buf, data + 1, len);
    } else {
        base(buf);
        len = kBaseLen;
        u64 const n = size - 1 < kBaseLen ? size - 1 : kBaseLen;
        memcpy(buf, data + 1, n);
        if (size - 1 > kBaseLen) {  // the rest grows the file (trailing bytes, a longer table)
            u64 const extra = size - 1 - kBaseLen < sizeof buf - kBaseLen ? size - 1 - kBaseLen : sizeof buf - kBaseLen;
            memcpy(buf + kBaseLen, data + 1 + kBaseLen, extra);
            len += extra;
        }
    }
    // An exact-size heap copy, so ASan sees any read past the end.
    u8* exact = static_cast<u8*>(malloc(len ? len : 1));
    memcpy(exact, buf, len);
    PolicyView v;
    if (parse_policy(exact, len, v) == ParseError::None) check_view(v, len);
    free(exact);
    return 0;
}
