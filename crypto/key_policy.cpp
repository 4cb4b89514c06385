#include "crypto/key_policy.hpp"

namespace tv::crypto {

namespace {

bool is_pad(char c) { return c == ' ' || c == '\0'; }

// The sectors from lba on that lie within a run ending at last (inclusive), capped at count.
u64 run_within(u64 lba, u64 last, u64 count) {
    if (count == 0)
        return 0;
    u64 const room = last - lba;  // sectors after lba in the run; +1 could overflow
    return count - 1 <= room ? count : room + 1;
}

}  // namespace

bool DiskSerial::operator==(DiskSerial const& o) const {
    if (len != o.len)
        return false;
    for (u8 i = 0; i < len; ++i)
        if (text[i] != o.text[i])
            return false;
    return true;
}

Status make_serial(char const* text, u64 n, DiskSerial& out) {
    out = DiskSerial{};
    if (text == nullptr)
        return Status::Invalid;
    u64 begin = 0;
    u64 end = n;
    while (begin < end && is_pad(text[begin]))
        ++begin;
    while (end > begin && is_pad(text[end - 1]))
        --end;
    if (end == begin || end - begin > kSerialMax)
        return Status::Invalid;
    for (u64 i = begin; i < end; ++i) {
        if (text[i] < 0x20 || text[i] > 0x7E)
            return Status::Invalid;
        out.text[i - begin] = text[i];
    }
    out.len = static_cast<u8>(end - begin);
    return Status::Ok;
}

Status serial_from_identify(u16 const (&identify)[256], DiskSerial& out) {
    char raw[kSerialMax];
    for (unsigned w = 0; w < kSerialMax / 2; ++w) {
        u16 const v = identify[10 + w];
        raw[2 * w] = static_cast<char>(v >> 8);  // ATA strings: the first character is the high byte
        raw[2 * w + 1] = static_cast<char>(v & 0xFF);
    }
    return make_serial(raw, sizeof raw, out);
}

KeyPolicy::Disk* KeyPolicy::find(DiskSerial const& serial) {
    for (u32 i = 0; i < count_; ++i)
        if (disks_[i].serial == serial)
            return &disks_[i];
    return nullptr;
}

KeyPolicy::Disk const* KeyPolicy::match(DiskSerial const& serial) const {
    Disk* d = const_cast<KeyPolicy*>(this)->find(serial);
    if (d != nullptr)
        return d;  // a listed serial wins over "*", wherever each stands in the list
    DiskSerial any;
    any.text[0] = '*';
    any.len = 1;
    return const_cast<KeyPolicy*>(this)->find(any);
}

Status KeyPolicy::add_disk(DiskSerial const& serial, KeyId key) {
    if (serial.len == 0)
        return Status::Invalid;
    if (find(serial) != nullptr)
        return Status::Exists;
    if (count_ == kMaxDisks)
        return Status::NoMemory;
    disks_[count_++] = Disk{serial, key, 0, {}};
    return Status::Ok;
}

Status KeyPolicy::add_plaintext_range(DiskSerial const& serial, Lba first, u64 count) {
    Disk* d = find(serial);
    if (d == nullptr)
        return Status::NotFound;
    if (count == 0 || count - 1 > ~first.raw)
        return Status::Invalid;
    Range r{first.raw, first.raw + (count - 1)};
    for (u32 i = 0; i < d->ranges; ++i)
        if (r.first <= d->plain[i].last && d->plain[i].first <= r.last)
            return Status::Exists;
    // Touching ranges become one, so that a request is never split where the treatment
    // does not change.
    for (u32 i = 0; i < d->ranges;) {
        Range const& o = d->plain[i];
        bool const before = o.last != ~0ull && o.last + 1 == r.first;
        bool const after = r.last != ~0ull && r.last + 1 == o.first;
        if (!before && !after) {
            ++i;
            continue;
        }
        r = Range{before ? o.first : r.first, after ? o.last : r.last};
        d->plain[i] = d->plain[--d->ranges];  // drop o; look at what moved into its place
    }
    if (d->ranges == kMaxPlainRanges)
        return Status::NoMemory;
    d->plain[d->ranges++] = r;
    return Status::Ok;
}

Status KeyPolicy::set_unlisted(Treatment t) {
    if (t == Treatment::Encrypt)
        return Status::Invalid;
    unlisted_ = t;
    return Status::Ok;
}

Decision KeyPolicy::decide_on(Disk const& d, u64 lba, u64 count) {
    u64 next_plain = ~0ull;  // first plaintext sector after lba, if any
    bool has_next = false;
    for (u32 i = 0; i < d.ranges; ++i) {
        Range const& r = d.plain[i];
        if (r.first <= lba && lba <= r.last)
            return Decision{Treatment::Plaintext, d.key, run_within(lba, r.last, count)};
        if (r.first > lba && r.first <= next_plain) {
            next_plain = r.first;
            has_next = true;
        }
    }
    u64 const last = has_next ? next_plain - 1 : ~0ull;
    return Decision{Treatment::Encrypt, d.key, run_within(lba, last, count)};
}

bool KeyPolicy::key_of(DiskSerial const& serial, KeyId& out) const {
    Disk const* d = match(serial);
    if (d == nullptr)
        return false;
    out = d->key;
    return true;
}

Decision KeyPolicy::decide(DiskSerial const& serial, Lba lba, u64 count) const {
    Disk const* d = match(serial);
    if (d == nullptr)
        return Decision{unlisted_, KeyId{0}, count};
    return decide_on(*d, lba.raw, count);
}

}  // namespace tv::crypto
