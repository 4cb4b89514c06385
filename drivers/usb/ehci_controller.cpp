// The EHCI mediator's registers (ehci_controller.hpp).
#include "drivers/usb/ehci_controller.hpp"

#include "drivers/usb/ehci_dma.hpp"

namespace tv::usb {

namespace {

constexpr u32 kMediatedEnd = op(EhciOp::AsyncListAddr) + 4;  // the registers past it pass through

}  // namespace

bool EhciController::init(EhciEnv* env, DmaMem dma) {
    env_ = env;
    if (env->dev_read(kHccParams, 4) & kHcc64Bit) return false;
    op_ = env->dev_read(kCapLength, 1) & 0xFF;
    ports_ = env->dev_read(kHcsParams, 4) & kHcsPortsMask;
    // Every page the controller is given (the bounces too) must be reachable with 32 bits.
    if (dma.dev.raw + u64{kDmaPages} * kPageSize > (u64{1} << 32)) return false;
    if (!sched_.init(env, dma)) return false;
    u64 const st = u64{kStoragePage} * kPageSize;
    storage_.init(env, DmaMem{dma.virt + st, Hpa{dma.dev.raw + st}});
    sched_.set_hook(&storage_);
    constexpr u64 kAsyncBytes = u64{EhciSchedule::kPages} * kPageSize;
    if (!periodic_.init(env, DmaMem{dma.virt + kAsyncBytes, Hpa{dma.dev.raw + kAsyncBytes}}, op_)) return false;
    // A stick's bulk endpoint queued in the periodic schedule meets the same mass-storage path.
    periodic_.set_hook(&storage_);
    return true;
}

bool EhciController::take_over() {
    env_->dev_write(op_ + op(EhciOp::UsbCmd), 4, 0);
    for (u32 i = 0; i < 100 && !(env_->dev_read(op_ + op(EhciOp::UsbSts), 4) & kStsHalted); ++i) env_->delay_us(100);
    env_->dev_write(op_ + op(EhciOp::UsbCmd), 4, kCmdReset);
    bool up = false;
    for (u32 i = 0; i < 500 && !up; ++i) {
        up = !(env_->dev_read(op_ + op(EhciOp::UsbCmd), 4) & kCmdReset);
        if (!up) env_->delay_us(100);
    }
    sched_.reset();
    periodic_.reset();
    storage_.reset();
    guest_cmd_ = device_async_ = 0;
    ports_reset();
    program(EhciOp::AsyncListAddr, sched_.idle_head());
    program(EhciOp::PeriodicListBase, periodic_.frame_list());
    return up;
}

void EhciController::refuse(char const* what, char const* why) {
    ++counters_.refused;
    env_->refused(what, why);
}

// Whether off is one of the mediated operational registers; *reg its offset among them. A
// mediated register takes only aligned 32-bit accesses (as the specification and QEMU have it).
bool EhciController::op_reg(u32 off, u8 size, u32* reg) {
    if (off < op_ || off >= op_ + kMediatedEnd) return false;
    *reg = off - op_;
    u32 const r = *reg & ~3u;
    bool const mediated = r == op(EhciOp::UsbCmd) || r == op(EhciOp::UsbSts) || r == op(EhciOp::UsbIntr) ||
                          r == op(EhciOp::CtrlDsSegment) ||
                          r == op(EhciOp::PeriodicListBase) || r == op(EhciOp::AsyncListAddr);
    if (!mediated) return false;
    if (size != 4 || (*reg & 3)) {
        refuse("register access", "not an aligned 32-bit access");
        *reg = ~0u;
    }
    return true;
}

u32 EhciController::read(u32 off, u8 size) {
    u32 reg = 0;
    if (port_access(off, size, false, &reg)) return reg;
    if (!op_reg(off, size, &reg)) return env_->dev_read(off, size);
    switch (reg) {
        case op(EhciOp::UsbSts): {
            u32 const v = env_->dev_read(off, 4);
            // What the controller let go of first (its last state written back), so the sync
            // can reuse the shadows for what the guest linked since.
            if (v & kStsIaa) sched_.iaa_done();
            if (!(v & kStsAsync) && !(guest_cmd_ & kCmdAsync)) sched_.async_stopped();
            sched_.sync();
            periodic_.sync(guest_cmd_);
            after_sync();
            return pcd_pending_ ? v | kStsPcd : v;
        }
        case op(EhciOp::UsbCmd): return env_->dev_read(off, 4);
        case op(EhciOp::UsbIntr): return guest_intr_;
        case op(EhciOp::CtrlDsSegment): return 0;
        case op(EhciOp::PeriodicListBase): return periodic_.guest_base();
        case op(EhciOp::AsyncListAddr): return sched_.guest_of_device_qh(env_->dev_read(off, 4));
        default: return 0;  // refused
    }
}

void EhciController::write(u32 off, u8 size, u32 value) {
    u32 reg = 0;
    if (port_access(off, size, true, &value)) return;
    if (!op_reg(off, size, &reg)) return env_->dev_write(off, size, value);
    switch (reg) {
        case op(EhciOp::UsbCmd): return write_cmd(value);
        case op(EhciOp::UsbSts):
            if (value & kStsPcd) change_acknowledged();
            return env_->dev_write(off, 4, value);
        case op(EhciOp::UsbIntr): return set_guest_intr(value);
        case op(EhciOp::CtrlDsSegment):
            if (value) refuse("CTRLDSSEGMENT", "64-bit addressing not offered");
            return;
        case op(EhciOp::PeriodicListBase):
            periodic_.set_base(value);
            periodic_.sync(guest_cmd_);
            return env_->dev_write(off, 4, periodic_.frame_list());
        case op(EhciOp::AsyncListAddr):
            device_async_ = sched_.set_head(value);
            return env_->dev_write(off, 4, device_async_);
        default: return;  // refused
    }
}

void EhciController::write_cmd(u32 value) {
    u32 const cmd = op_ + op(EhciOp::UsbCmd);
    if (value & kCmdReset) {
        sched_.reset();
        periodic_.reset();
        storage_.reset();
        guest_cmd_ = device_async_ = 0;
        ports_reset();
        return env_->dev_write(cmd, 4, kCmdReset);  // alone: the lists are given again before a run
    }
    if (value & kCmdLightReset) refuse("USBCMD", "light host controller reset not offered");
    value &= ~kCmdLightReset;
    if (value & (kCmdAsync | kCmdIaaDoorbell)) sched_.sync();
    if (value & kCmdIaaDoorbell) {
        sched_.iaa_doorbell();
        ++counters_.doorbells;
    }
    if (value & kCmdAsync) sched_.async_started();  // its QHs are the controller's again
    periodic_.sync(value);  // before the controller may start it (or the list's size changes)
    // The controller never runs from a list address the monitor did not give it (after a
    // reset it holds zero, guest memory): the shadow head (or the idle one) and the shadow list.
    program(EhciOp::AsyncListAddr, device_async_ ? device_async_ : sched_.idle_head());
    program(EhciOp::PeriodicListBase, periodic_.frame_list());
    after_sync();
    guest_cmd_ = value;
    env_->dev_write(cmd, 4, value);
}

void EhciController::program(EhciOp reg, u32 value) {
    if (env_->dev_read(op_ + op(reg), 4) != value) env_->dev_write(op_ + op(reg), 4, value);
}

void EhciController::tick() {
    if (!(guest_cmd_ & kCmdRun) || !(guest_cmd_ & (kCmdAsync | kCmdPeriodic))) return;
    ++counters_.ticks;
    if (guest_cmd_ & kCmdAsync) sched_.sync();
    if (guest_cmd_ & kCmdPeriodic) periodic_.sync(guest_cmd_);
    after_sync();
}

}  // namespace tv::usb
