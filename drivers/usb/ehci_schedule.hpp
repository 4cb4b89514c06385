// The shadow of the guest's EHCI asynchronous schedule (docs/usb.md, "EHCI"): the controller
// is given a ring of queue heads and chains of qTDs in monitor memory, built from copies of
// the guest's, never the guest's own structures.
//
// EHCI has no doorbell for new work: the guest links queue heads and appends qTDs while the
// controller runs, and the controller polls. So the mediator re-reads the schedule at every
// sync (a register access, and the monitor clock's tick while the async schedule runs):
//
// - The guest's QH ring is walked from ASYNCLISTADDR (each QH copied once, 48 bytes through
//   the guest-memory rule), at most kMaxQh QHs, ending where it comes back to a QH already
//   seen. The shadow ring links the shadows of exactly those QHs, in the guest's order, and
//   is always closed: a walk that stops early (a bad link, a non-QH entry, too many QHs) is
//   refused at that point and the ring closes there.
// - Each QH's overlay belongs to the controller while the QH is linked: it is imported from
//   the guest once, when the QH first appears (its Active bit cleared: the controller starts
//   from the next qTD), and from then on only copied back, translated, to the guest's QH.
//   The exceptions: the guest restarting a halted queue (Linux after a transaction error),
//   whose new token is taken after the same check as a qTD's; and a QH the guest rewrote while
//   the async schedule was stopped (the controller held none), imported again as a new one.
// - Each QH owns up to kQtdsPerQh qTD shadows, found from the controller's overlay (current,
//   next, alternate next) and the guest's next/alternate pointers. A qTD the controller was
//   given Active is the controller's until it completes: the guest's copy is not read again
//   (rewriting it changes nothing the device does). Any other reachable qTD is copied again
//   at each sync, and when the guest made it Active it is checked: PID, at most 20 KiB, and
//   every page of its buffer within guest memory. A refused qTD is given to the controller
//   halted (so it never runs) and its guest copy is written halted: the guest sees a stalled
//   transfer. Buffers of inactive qTDs are not given to the controller at all.
// - Completions: a qTD that went inactive has its token and current offset written back into
//   the guest's qTD (what the controller itself writes back), then it is the guest's again.
// - A hook (EhciQtdHook: the mass-storage path, ehci_storage.hpp) sees every Active qTD that
//   passed the check before its shadow is made Active, in the order the controller runs them,
//   and may point its buffers at monitor memory; and every completion of such a qTD before
//   the guest's copy is written (whose buffer words then show the guest's own pages).
// - QHs the guest unlinked leave the shadow ring but keep their memory until the controller
//   acknowledges an Interrupt on Async Advance rung after they left (or its async schedule
//   stops): the controller may still hold them, exactly as the guest must assume of its own.
//
// Pure: guest memory through GuestView, the controller's memory as a DmaMem.
#pragma once

#include "drivers/usb/ehci_layout.hpp"
#include "drivers/usb/usb_storage.hpp"
#include "drivers/usb/xhci_ring.hpp"
#include "drivers/usb/xhci_shadow_ring.hpp"

namespace tv::usb {

class EhciEnv : public UsbStorageEnv {
  public:
    virtual u32 dev_read(u32 off, u8 size) = 0;  // a register of the real controller (BAR offset)
    virtual void dev_write(u32 off, u8 size, u32 value) = 0;
    virtual GuestView const& guest() = 0;
    virtual void delay_us(u32 us) = 0;
    // refused (a rate-limited log line), note and usb_rule: UsbStorageEnv

  protected:
    ~EhciEnv() = default;
};

// What follows the devices behind the schedule (ehci_storage.hpp, the mass-storage path): told
// of every Active qTD before the controller is given it, in chain order, and of its completion
// before the guest sees it.
class EhciQtdHook {
  public:
    // A checked Active qTD (`guest`, the monitor's copy) of the QH whose endpoint
    // characteristics are epchar: *img is its shadow, whose buffers the hook may point at
    // monitor memory (then *tag is set, non-zero); nullptr, or why the qTD is refused.
    [[nodiscard]] virtual char const* give(u32 epchar, Qtd const& guest, Qtd* img, u16* tag) = 0;
    // The QH's qTDs of this sync were given: data the device will read is made ready (sealed).
    virtual void batch_end(u32 epchar) = 0;
    // Whether the qTD tagged `tag` may run now; if not it is refused.
    virtual bool ready(u32 epchar, u16 tag) const = 0;
    // A tagged qTD completed with the controller's token (once, before the guest sees it).
    virtual void completed(u32 epchar, u16 tag, u32 token) = 0;
    // Whether a completed tagged qTD may be shown to the guest yet (a data stage is shown whole).
    virtual bool release(u32 epchar, u16 tag) const = 0;

  protected:
    ~EhciQtdHook() = default;
};

struct EhciCounters {
    u64 syncs, qh_linked, qtds_copied, completions, refused;
};

class EhciSchedule {
  public:
    static constexpr u32 kMaxQh = 32;
    static constexpr u32 kQtdsPerQh = 64;  // Linux: one qTD per page of a 120 KiB SG request, and more
    static constexpr u32 kQhBytes = 64;    // a shadow QH's slot (48 used)
    static constexpr u32 kQtdBase = kPageSize;  // QH slots (kMaxQh and the idle head) in page 0
    static constexpr u32 kPages = 1 + kMaxQh * kQtdsPerQh * sizeof(Qtd) / kPageSize;
    static_assert((kMaxQh + 1) * kQhBytes <= kPageSize);

    // mem: kPages of monitor memory the controller reaches, below 4 GiB. False otherwise.
    [[nodiscard]] bool init(EhciEnv* env, DmaMem mem);
    void set_hook(EhciQtdHook* hook) { hook_ = hook; }
    // The controller was reset: every shadow dropped (the controller forgot them too).
    void reset();

    // The guest wrote ASYNCLISTADDR: syncs and returns what the controller is given.
    u32 set_head(u32 guest);
    u32 guest_head() const { return guest_head_; }
    // The controller's ASYNCLISTADDR as the guest must read it (its QH's guest address).
    u32 guest_of_device_qh(u32 device) const;

    // Completions written back, the guest's ring and chains copied again.
    void sync();
    // The guest rang Interrupt on Async Advance (after a sync): what it unlinked so far is
    // freed once the controller reports the advance (iaa_done) or stops (async_stopped).
    void iaa_doorbell();
    void iaa_done();
    // The controller's async schedule stopped: it holds no QH, so until it runs again a QH the
    // guest rewrote in place is imported afresh (async_started: from then on the overlay is
    // the controller's again).
    void async_stopped();
    void async_started();

    EhciCounters const& counters() const { return counters_; }
    // For tests: the shadow of the guest QH at `guest` (device address), 0 when not linked.
    u32 device_qh_of(u32 guest) const;
    u32 idle_head() const { return qh_dev(kMaxQh); }

    // The periodic schedule's queue heads (ehci_periodic.hpp) are shadowed by a second
    // EhciSchedule used as a pool: the same QH and qTD shadows and checks, the periodic
    // tree's own walk, links and retirement (defined in ehci_periodic_pool.cpp).
    void pool_begin(char const* what);  // completions written back; no QH met yet
    // The shadow of the guest QH at g met in the tree, its qTDs refreshed: its index, or kMaxQh
    // (refused: no room).
    [[nodiscard]] u32 pool_take(u32 g, Qh const& copy);
    void pool_link(u32 i, u32 hlink);  // the shadow's horizontal link: a new QH complete before
    u32 pool_dev(u32 i) const { return qh_dev(i); }
    // Linked QHs not met since pool_begin become retiring: a mask of them.
    [[nodiscard]] u64 pool_end();
    void pool_free(u32 i);  // a retiring QH the controller no longer holds: written back, freed
    bool pool_retiring(u32 i) const { return qh_[i].use == QhUse::Retiring; }

  private:
    enum class QhUse : u8 { Free, Linked, Retiring, AwaitIaa };
    static constexpr u32 kIndexSize = 2 * kQtdsPerQh;
    static_assert(kIndexSize == 128 && kQtdsPerQh < 255);  // index_hash gives 7 bits
    struct QtdSlot {
        u32 guest;
        u32 gnext, galt;  // the guest's pointers as last copied
        bool used, given, reached;
        bool noted;       // its completion was told to the hook
        u16 tag;          // the hook's (non-zero: its buffers are monitor memory)
        u32 gtoken;       // a tagged qTD's guest token and buffers, for the write-back
        u32 gbuf[5];
    };
    struct QhSlot {
        u32 guest;
        QhUse use;
        bool fresh, in_walk;
        bool stopped;          // linked when the async schedule stopped: the guest may rebuild it
        u32 guest_current;     // the guest's current qTD pointer when imported
        u32 import_next, import_alt;
        u32 written[9];        // words 3..11 as last written to the guest
        QtdSlot q[kQtdsPerQh];
        // q's slots by guest address (slot + 1, 0 empty; open addressing): a lookup costs a
        // few probes, not a scan, however many qTDs a hostile guest queues.
        u8 index[kIndexSize];
    };


    u32 qh_dev(u32 i) const { return dev_ + i * kQhBytes; }
    Qh* qh_virt(u32 i) const { return reinterpret_cast<Qh*>(virt_ + i * kQhBytes); }
    u32 qtd_dev(u32 i, u32 k) const { return dev_ + kQtdBase + (i * kQtdsPerQh + k) * u32{sizeof(Qtd)}; }
    Qtd* qtd_virt(u32 i, u32 k) const {
        return reinterpret_cast<Qtd*>(virt_ + kQtdBase + (i * kQtdsPerQh + k) * sizeof(Qtd));
    }

    void clear_qh(u32 i);
    void write_back(u32 i);
    u32 walk_ring(u32* order);
    [[nodiscard]] bool take_qh(u32 g, Qh const& copy, u32* index);
    void restart_check(u32 i, Qh const& copy);
    void refresh(u32 i);
    template <class Push>
    void reach(u32 i, u32 guest, Push& push);
    u32 chain_order(u32 i, u32 const* roots, u32 nroots, u32* order) const;
    bool prepare_qtd(u32 i, u32 k, Qtd const& c, Qtd* img);
    void write_qtd(u32 i, u32 k, Qtd img, bool active);
    void complete(u32 i);
    bool guest_words(u32 i, u32 k, u32 token, u32* gtoken, u32* gbuf0) const;
    void link(u32 const* order, u32 n);
    void free_retired(QhUse which);
    u32 find_qtd(u32 i, u32 guest) const;
    u32 find_qtd_free(u32 i) const;
    void index_add(u32 i, u32 k);
    void index_rebuild(u32 i);
    u32 slot_of(u32 i, u32 device) const;
    u32 guest_ptr(u32 i, u32 device, u32 fallback) const;
    u32 device_ptr(u32 i, u32 guest) const;
    void refuse(char const* why);

    EhciEnv* env_{nullptr};
    char const* what_{"async schedule"};  // for refusals
    u8* virt_{nullptr};
    u32 dev_{0};
    u32 guest_head_{0};
    bool head_set_{false};
    bool running_{true};  // false while the async schedule is stopped (async_stopped)
    QhSlot qh_[kMaxQh]{};
    EhciQtdHook* hook_{nullptr};
    Qtd pending_[kQtdsPerQh]{};
    Qtd img_[kQtdsPerQh]{};
    bool has_pending_[kQtdsPerQh]{};
    EhciCounters counters_{};
};

// Whether the controller may run an Active qTD: nullptr, or why not (its PID, its size, or a
// buffer page outside guest memory).
[[nodiscard]] char const* check_qtd(GuestView const& g, Qtd const& t);

}  // namespace tv::usb
