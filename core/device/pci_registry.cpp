#include "core/device/pci_registry.hpp"

namespace tv::pci {

bool PciClaim::take(u8 parts) {
    PciRegistry::Owners& o = r_.owners_[fn_];
    for (u8 i = 0; i < 8; ++i)
        if ((parts >> i & 1) && o.driver[i] != PciRegistry::kNobody && o.driver[i] != driver_) return false;
    for (u8 i = 0; i < 8; ++i)
        if (parts >> i & 1) o.driver[i] = driver_;
    return true;
}

u8 PciClaim::free_parts() const {
    PciRegistry::Owners const& o = r_.owners_[fn_];
    u8 free = 0;
    for (u8 i = 0; i < 8; ++i)
        if (o.driver[i] == PciRegistry::kNobody) free = static_cast<u8>(free | 1u << i);
    return free;
}

Status PciRegistry::add(PciDriver const* d) {
    if (!d || !d->matches || !d->attach) return Status::Invalid;
    if (ndrivers_ == kMaxDrivers) return Status::NoMemory;
    for (size_t i = 0; i < ndrivers_; ++i)
        if (drivers_[i] == d) return Status::Exists;
    drivers_[ndrivers_++] = d;
    return Status::Ok;
}

Status PciRegistry::run(u8 driver, Function const* fns, size_t n) {
    PciDriver const& d = *drivers_[driver];
    bool active = true;
    if (d.prepare)
        if (Status s = d.prepare(&active); !ok(s)) return s;
    if (!active) return Status::Ok;
    for (size_t i = 0; i < n; ++i) {
        PciClaim claim{*this, i, driver};
        if (claim.free_parts() == 0 || !d.matches(fns[i])) continue;
        if (Status s = d.attach(fns[i], claim); !ok(s)) return s;
    }
    return d.finish ? d.finish() : Status::Ok;
}

Status PciRegistry::attach_all(Function const* fns, size_t n, char const** failed) {
    *failed = nullptr;
    if (n > kMaxFunctions) return Status::NoMemory;
    fns_ = fns;
    nfns_ = n;
    for (size_t i = 0; i < n; ++i)
        for (u8& o : owners_[i].driver) o = kNobody;
    for (size_t d = 0; d < ndrivers_; ++d)
        if (Status s = run(static_cast<u8>(d), fns, n); !ok(s)) {
            *failed = drivers_[d]->name;
            return s;
        }
    return Status::Ok;
}

PciDriver const* PciRegistry::owner(Bdf b, u8 part) const {
    for (size_t i = 0; i < nfns_; ++i) {
        if (!(fns_[i].bdf == b)) continue;
        for (u8 bit = 0; bit < 8; ++bit)
            if ((part >> bit & 1) && owners_[i].driver[bit] != kNobody) return drivers_[owners_[i].driver[bit]];
        return nullptr;
    }
    return nullptr;
}

}  // namespace tv::pci
