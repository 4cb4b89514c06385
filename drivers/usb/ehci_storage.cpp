// The mass-storage path on EHCI's qTDs (ehci_storage.hpp).
#include "drivers/usb/ehci_storage.hpp"

#include <stdio.h>
#include <string.h>

namespace tv::usb {

namespace {

constexpr u32 kSetupOff = 32;  // in the small page, between the CBW and the CSW
constexpr u8 kSetAddress = 5;
// SET_FEATURE(PORT_RESET) to a hub's port (USB 2.0 11.24.2.13): bmRequestType, bRequest, wValue.
constexpr u64 kHubPortReset = 0x0004'0323;

enum class Role : u8 { None, Setup, Desc, Cbw, Out, In, Csw, Sink };
constexpr u16 tag_of(Role r, u32 index = 0) { return static_cast<u16>(u32{static_cast<u8>(r)} << 12 | (index & 0xFFF)); }
constexpr Role role_of(u16 tag) { return static_cast<Role>(tag >> 12); }
constexpr u32 index_of(u16 tag) { return tag & 0xFFFu; }
constexpr u8 address_of(u32 epchar) { return static_cast<u8>(epchar & 0x7F); }
constexpr u8 endpoint_of(u32 epchar) { return static_cast<u8>((epchar >> 8) & 0xF); }

u32 min32(u32 a, u32 b) { return a < b ? a : b; }
constexpr u32 kPage = static_cast<u32>(kPageSize);

// Byte `from` onwards of a qTD's data, n of them, as guest-physical pieces (its current page
// and offset first); false when the qTD's pages end before.
template <class F>
bool for_pieces(Qtd const& q, u32 from, u32 n, F f) {
    u32 pos = (q.buffer[0] & ~kBufferPageMask) + from;
    u32 page = qtd_cpage(q.token) + pos / kPage;
    pos %= kPage;
    for (u32 done = 0; done < n; pos = 0, ++page) {
        if (page > 4) return false;
        u32 const chunk = min32(n - done, kPage - pos);
        if (!f(Gpa{u64{q.buffer[page] & kBufferPageMask} + pos}, done, chunk)) return false;
        done += chunk;
    }
    return true;
}

bool read_qtd(GuestView const& g, Qtd const& q, void* dst, u32 n) {
    auto* d = static_cast<u8*>(dst);
    return for_pieces(q, 0, n, [&](Gpa a, u32 at, u32 len) { return g.read(a, d + at, len); });
}

}  // namespace

void EhciStorage::init(EhciEnv* env, DmaMem mem) {
    env_ = env;
    mem_ = mem;
    reset();
}

void EhciStorage::reset() {
    for (Dev& d : devs_) forget(&d);
    reset_port_ = 0;
    denied_ports_ = 0;
    memset(addr_port_, 0, sizeof addr_port_);
}

EhciStorage::Dev* EhciStorage::find(u8 addr) {
    for (Dev& d : devs_)
        if (d.used && d.addr == addr) return &d;
    return nullptr;
}

EhciStorage::Dev const* EhciStorage::find(u8 addr) const {
    for (Dev const& d : devs_)
        if (d.used && d.addr == addr) return &d;
    return nullptr;
}

UsbStorage const* EhciStorage::device(u8 addr) const {
    Dev const* d = find(addr);
    return d ? &d->st : nullptr;
}

// A record for a device address seen first: a free one, else the one idle longest (its
// device is then followed from scratch: until its configuration is read again, only its
// default endpoint runs).
EhciStorage::Dev* EhciStorage::take(u8 addr) {
    Dev* pick = nullptr;
    for (Dev& d : devs_) {
        if (!d.used) {
            pick = &d;
            break;
        }
        if (!pick || d.age < pick->age) pick = &d;
    }
    if (!pick) return nullptr;
    forget(pick);
    pick->used = true;
    pick->addr = addr;
    snprintf(pick->who, sizeof pick->who, "usb device %u", addr);
    return pick;
}

void EhciStorage::forget(Dev* d) {
    d->st.reset();
    d->used = false;
    d->in_n = d->out_n = 0;
    for (u8& r : region_dev_)
        if (r == index(*d) + 1) r = 0;
}

// The device's monitor memory; an encrypted stick gets a media bounce while one is free.
StorageMem EhciStorage::mem(Dev& d) {
    u32 const base = index(d) * 2 + 1;
    auto page = [&](u32 p) { return DmaMem{mem_.virt + u64{p} * kPageSize, Hpa{mem_.dev.raw + u64{p} * kPageSize}}; };
    StorageMem m{env_, &env_->guest(), page(base), page(base + 1), DmaMem{nullptr, Hpa{0}}, d.who};
    u32 const me = index(d) + 1;
    if (!d.st.storage_bot() || !d.st.volume().active()) {  // only sealed data is bounced
        for (u8& r : region_dev_)
            if (r == me) r = 0;  // another device turned up at its address
        return m;
    }
    u32 region = kRegions;
    for (u32 i = 0; i < kRegions && region == kRegions; ++i)
        if (region_dev_[i] == me) region = i;
    for (u32 i = 0; i < kRegions && region == kRegions; ++i)
        if (!region_dev_[i]) region_dev_[region = i] = static_cast<u8>(me);
    if (region == kRegions) return m;
    u64 const off = (1 + 2 * kDevices) * u64{kPageSize} + u64{region} * kBounceBytes;
    m.bounce = DmaMem{mem_.virt + off, Hpa{mem_.dev.raw + off}};
    return m;
}

// The shadow qTD moves len bytes at dev, monitor memory, from its first page on.
char const* EhciStorage::place(Qtd* img, u32 dev, u32 len) const {
    if ((dev & ~kBufferPageMask) + len > 5 * kPage) return "a bounced qTD would need a sixth page";
    img->buffer[0] = dev;
    for (u32 p = 1; p < 5; ++p) img->buffer[p] = (dev & kBufferPageMask) + p * kPage;
    img->token &= ~(7u << 12);
    return nullptr;
}

// A refused command's data: every page of the qTD is the sink page (it holds only what
// devices wrote there).
void EhciStorage::sink(Qtd* img) const {
    for (u32& b : img->buffer) b = static_cast<u32>(mem_.dev.raw);
    img->token &= ~(7u << 12);
}

void EhciStorage::copy_out(Dev& d, Qtd const& q, u8 const* src, u32 from, u32 n) {
    GuestView const& g = env_->guest();
    bool const done = for_pieces(q, from, n, [&](Gpa a, u32 at, u32 len) { return g.write(a, src + at, len); });
    if (!done) env_->refused(d.who, "guest buffer outside guest memory");
}

char const* EhciStorage::give(u32 epchar, Qtd const& g, Qtd* img, u16* tag) {
    u8 const addr = address_of(epchar), ep = endpoint_of(epchar);
    Dev* d = find(addr);
    if (!d) d = take(addr);
    if (!d) return "more USB devices than the monitor follows";
    d->age = ++clock_;
    if (ep == 0) return control(*d, g, img, tag);
    if (char const* why = d->st.endpoints_allowed()) return why;
    if (!d->st.storage_bot()) return nullptr;
    QtdPid const pid = qtd_pid(g.token);
    u8 const out = d->st.bulk_out() & 0xF, in = d->st.bulk_in() & 0xF;
    if (ep == out && pid == QtdPid::Out) return bot_out(*d, g, img, tag);
    if (ep == in && pid == QtdPid::In) return bot_in(*d, g, img, tag);
    if (ep == out || ep == in) return "a qTD against the direction of a mass-storage endpoint";
    return nullptr;
}

char const* EhciStorage::control(Dev& d, Qtd const& g, Qtd* img, u16* tag) {
    u32 const len = qtd_bytes(g.token);
    QtdPid const pid = qtd_pid(g.token);
    StorageMem const m = mem(d);
    if (pid == QtdPid::Setup) {
        u64 setup = 0;
        if (len != 8) return "a Setup qTD of other than 8 bytes";
        if (!read_qtd(env_->guest(), g, &setup, 8)) return "setup outside guest memory";
        if ((setup & 0xFFFF'FFFF) == kHubPortReset) reset_port_ = 0;
        if ((setup & 0xFFFF) == u64{kSetAddress} << 8) {  // a device reset, or another device
            u8 const to = static_cast<u8>((setup >> 16) & 0x7F);
            if (d.addr == 0) {
                addr_port_[to] = reset_port_;
                reset_port_ = 0;
            }
            Dev* o = find(to);
            if (o && o != &d) {
                o->st.readdressed();
                o->in_n = o->out_n = 0;
            }
        }
        if (char const* why = d.st.setup(setup)) return why;
        memcpy(m.small.virt + kSetupOff, &setup, 8);
        *tag = tag_of(Role::Setup);
        return place(img, static_cast<u32>(m.small.dev.raw) + kSetupOff, 8);
    }
    if (pid != QtdPid::In || !d.st.descriptor_wanted(true)) return nullptr;
    if (char const* why = d.st.descriptor_begin(len)) return why;
    memset(m.desc.virt, 0, kPageSize);
    d.desc_q = g;
    *tag = tag_of(Role::Desc);
    return place(img, static_cast<u32>(m.desc.dev.raw), len);
}

char const* EhciStorage::bot_out(Dev& d, Qtd const& g, Qtd* img, u16* tag) {
    u32 const len = qtd_bytes(g.token);
    StorageMem const m = mem(d);
    if (d.st.cbw_expected()) {
        u8 raw[kCbwBytes];
        if (len != kCbwBytes) return "not a CBW (one qTD of 31 bytes)";
        if (!read_qtd(env_->guest(), g, raw, len)) return "CBW outside guest memory";
        char const* why = d.st.cbw(m, raw, len);
        if (d.st.denied() && addr_port_[d.addr]) denied_ports_ |= 1u << ((addr_port_[d.addr] - 1) & 31);
        if (why) return why;
        d.in_n = d.out_n = 0;
        *tag = tag_of(Role::Cbw);
        return place(img, static_cast<u32>(m.small.dev.raw) + kCbwOff, len);
    }
    Place p{};
    u32 off = 0;
    if (char const* why = d.st.out_data(m, len, &p, &off)) return why;
    if (p == Place::Sink) {
        sink(img);
        *tag = tag_of(Role::Sink);
        return nullptr;
    }
    if (p != Place::Bounce) return nullptr;
    bool const copied = read_qtd(env_->guest(), g, m.bounce.virt + off, len);
    if (!copied) memset(m.bounce.virt + off, 0, len);
    if (d.out_n == kMaxPieces) return "data stage in too many pieces";
    d.out_end[d.out_n] = off + len;
    *tag = tag_of(Role::Out, d.out_n++);
    if (char const* why = place(img, static_cast<u32>(m.bounce.dev.raw) + off, len)) return why;
    return copied ? nullptr : "buffer outside guest memory";
}

char const* EhciStorage::bot_in(Dev& d, Qtd const& g, Qtd* img, u16* tag) {
    u32 const len = qtd_bytes(g.token);
    StorageMem const m = mem(d);
    if (d.st.csw_expected()) {
        if (char const* why = d.st.csw_begin(m, len)) return why;
        d.csw_q = g;
        d.csw_len = len;
        *tag = tag_of(Role::Csw);
        return place(img, static_cast<u32>(m.small.dev.raw) + kCswOff, len);
    }
    Place p{};
    u32 off = 0;
    if (char const* why = d.st.in_data(len, &p, &off)) return why;
    if (p == Place::Sink) {
        sink(img);
        *tag = tag_of(Role::Sink);
        return nullptr;
    }
    if (p == Place::Guest) return nullptr;
    if (d.in_n == kMaxPieces) return "data stage in too many pieces";
    u32 const base = static_cast<u32>(p == Place::Bounce ? m.bounce.dev.raw : m.small.dev.raw);
    d.in[d.in_n] = Piece{p == Place::Small ? off - kSmallInOff : off, len, g};
    *tag = tag_of(Role::In, d.in_n++);
    return place(img, base + off, len);
}

void EhciStorage::batch_end(u32 epchar) {
    Dev* d = find(address_of(epchar));
    if (d && d->st.storage_bot()) d->st.seal(mem(*d));
}

bool EhciStorage::ready(u32 epchar, u16 tag) const {
    if (role_of(tag) != Role::Out) return true;
    Dev const* d = find(address_of(epchar));
    return d && index_of(tag) < d->out_n && d->out_end[index_of(tag)] <= d->st.sealed();
}

void EhciStorage::completed(u32 epchar, u16 tag, u32 token) {
    Dev* d = find(address_of(epchar));
    if (!d) return;
    u32 const left = qtd_bytes(token), i = index_of(tag);
    bool const good = !(token & kQtdHalted);
    StorageMem const m = mem(*d);
    switch (role_of(tag)) {
    case Role::Desc: {
        if (!d->st.descriptor_pending()) return;
        if (!good) return d->st.descriptor_failed();  // nothing to learn, nothing to copy
        u32 const len = d->st.descriptor_len(), got = len - min32(left, len);
        d->st.descriptor_arrived(m, got);
        return copy_out(*d, d->desc_q, m.desc.virt, 0, got);
    }
    case Role::In: {
        if (d->st.in_over() || i >= d->in_n) return;
        if (!good) return d->st.in_failed();  // a failed data stage: nothing reaches the guest
        Piece const& e = d->in[i];
        bool const last = e.off + e.len >= d->st.in_placed() && !d->st.in_pending_data();
        if (!left && !last) return;
        u32 const give = d->st.in_finish(m, e.off + e.len - min32(left, e.len));
        u8 const* area = d->st.in_area(m);
        for (u32 k = 0; k < d->in_n && d->in[k].off < give; ++k)
            copy_out(*d, d->in[k].guest, area + d->in[k].off, 0, min32(d->in[k].len, give - d->in[k].off));
        return d->st.in_clear(m);
    }
    case Role::Csw: {
        if (!good) return;
        u32 const got = d->csw_len - min32(left, d->csw_len);
        d->st.csw_finish(m, got);
        return copy_out(*d, d->csw_q, m.small.virt + kCswOff, 0, got);
    }
    default: return;
    }
}

bool EhciStorage::release(u32 epchar, u16 tag) const {
    if (role_of(tag) != Role::In) return true;
    Dev const* d = find(address_of(epchar));
    return !d || d->st.in_over() || index_of(tag) >= d->in_n;
}

}  // namespace tv::usb
