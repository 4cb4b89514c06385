#include "core/device/irq_controllers.hpp"

namespace tv {

namespace {

constexpr u64 kApicX2Enable = 1ull << 10;
constexpr u64 kApicBaseMask = 0x000FFFFFFFFFF000ull;
constexpr u64 kIoRegSel = 0x00, kIoWin = 0x10;
constexpr u64 kIcrLow = 0x300, kIcrHigh = 0x310;
constexpr u32 kIcrSelf = 1u << 18, kIcrLogical = 1u << 11, kIcrLowest = 1u << 8;
constexpr u64 kApicPage = 4096;

}  // namespace

u32 ApicControllers::ioapic_entry_low(u32 gsi) {
    DeviceGuard guard(ioapic_);
    u32 const sel = regs_.mmio_read(kIoApicBase + kIoRegSel);
    regs_.mmio_write(kIoApicBase + kIoRegSel, 0x10 + 2 * gsi);
    u32 const lo = regs_.mmio_read(kIoApicBase + kIoWin);
    regs_.mmio_write(kIoApicBase + kIoRegSel, sel);
    return lo;
}

bool ApicControllers::send_ipi(IpiMessage const& m) {
    u64 const base = regs_.rdmsr(kApicBaseMsr);
    u32 const low = (m.logical ? kIcrLogical : 0) | (m.lowest ? kIcrLowest : 0) | m.vector;
    if (base & kApicX2Enable) {
        if (m.self) regs_.wrmsr(kX2apicSelfIpi, m.vector);
        else regs_.wrmsr(kX2apicIcr, static_cast<u64>(m.dest) << 32 | low);
        return true;
    }
    u64 const page = base & kApicBaseMask;
    if (page + kApicPage > excluded_base_ && page < excluded_base_ + excluded_size_) {
        __atomic_fetch_add(&refusals_, 1, __ATOMIC_RELAXED);
        return false;
    }
    if (m.self) {
        regs_.mmio_write(page + kIcrLow, kIcrSelf | m.vector);
        return true;
    }
    u32 const high = regs_.mmio_read(page + kIcrHigh);
    regs_.mmio_write(page + kIcrHigh, (m.dest & 0xFF) << 24);
    regs_.mmio_write(page + kIcrLow, low);
    regs_.mmio_write(page + kIcrHigh, high);
    return true;
}

}  // namespace tv
