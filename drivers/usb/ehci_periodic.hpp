// The shadow of the guest's EHCI periodic schedule (docs/usb.md, "EHCI"): the controller is
// given a frame list in monitor memory whose entries lead only to shadows of the guest's
// interrupt queue heads, never to the guest's own structures.
//
// - The guest's frame list (1024, 512 or 256 entries as USBCMD's frame list size says, on a
//   controller that lets it be programmed; else 1024) is copied whole at each sync, through the
//   guest-memory rule, and each entry translated into the monitor's list.
// - An entry leads to a chain of nodes, each linked to the next (EHCI 3.1): the guest's tree,
//   where the QHs of long periods are linked from a few slots and lead on to those of shorter
//   periods that many slots share. Each guest QH is shadowed once (EhciSchedule as a pool: the
//   same QH and qTD shadows, checks and completions as the async schedule), however many slots
//   lead to it; a translation is remembered for the rest of the sync. A guest may link a QH for
//   any endpoint here, a stick's bulk endpoints too: whatever follows the devices behind the
//   async schedule must see this pool's qTDs as well.
// - The clock's tick syncs every 1 ms while the schedule runs (a keyboard keeps it running), so
//   a sync whose copy of the list equals the last one only translates the list's distinct
//   entries (up to kMaxRoots, else all) and rewrites the list only when one of them changed.
// - Isochronous transfer descriptors (iTDs, siTDs) and FSTNs are not shadowed: each is refused
//   (logged) and skipped, the controller's link going straight to what follows it, so the
//   interrupt QHs after them keep running. Only their first word (the next link) is read.
// - Bounded: at most kMaxNodes nodes are translated per sync, a chain coming back to a node
//   on itself (a loop) is cut there, a QH or node outside guest memory ends its chain: each
//   refused and logged, the controller given a terminated link in its place. The shadow tree
//   is linked from its ends back to the frame list, so every link the controller follows
//   leads to a shadow already complete, and it has no loop.
// - A QH that left the guest's tree keeps its shadow (and its last state is written back)
//   until the controller has moved two frames on or its periodic schedule stopped: EHCI has no
//   doorbell for the periodic schedule, software waits for the frame to end.
//
// Pure: guest memory and the controller's registers through EhciEnv, its memory as a DmaMem.
#pragma once

#include "drivers/usb/ehci_schedule.hpp"

namespace tv::usb {

struct EhciPeriodicCounters {
    u64 syncs, skipped, refused;  // skipped: iTDs, siTDs and FSTNs given as the link past them
};

class EhciPeriodic {
  public:
    static constexpr u32 kPages = EhciSchedule::kPages + 1;  // the QH pool and the frame list
    static constexpr u32 kMaxNodes = 128;                    // translated per sync
    static constexpr u32 kMaxChain = 64;                     // nodes from one entry to a known one
    static constexpr u32 kMaxRoots = 32;                     // distinct entries the quick sync follows

    // mem: kPages of monitor memory below 4 GiB; op: the operational registers' offset.
    [[nodiscard]] bool init(EhciEnv* env, DmaMem mem, u32 op);
    // The controller was reset: every entry terminated, every shadow dropped.
    void reset();
    // What the controller's PERIODICLISTBASE holds, whatever the guest wrote.
    u32 frame_list() const { return list_dev_; }
    void set_base(u32 guest) { guest_base_ = guest & kBufferPageMask; }
    u32 guest_base() const { return guest_base_; }

    // A sync at the guest's USBCMD (cmd: what the controller runs now): completions written
    // back, and while the guest's schedule is enabled its frame list and tree copied again.
    void sync(u32 cmd);

    EhciPeriodicCounters const& counters() const { return counters_; }
    EhciCounters const& pool_counters() const { return pool_.counters(); }
    // For tests: the shadow of the guest QH at `guest` (device address), 0 when not linked.
    u32 device_qh_of(u32 guest) const { return pool_.device_qh_of(guest); }

  private:
    struct Memo {
        u32 key, dev, gen;
    };
    static constexpr u32 kMemoSize = 2 * kMaxNodes;
    static_assert((kMemoSize & (kMemoSize - 1)) == 0);

    u32 entries(u32 cmd);
    void mirror(u32 n);
    bool unchanged(u32 n);
    void note_root(u32 link, u32 dev);
    u32 translate(u32 link);
    bool follow(u32 at, u32 k, u32* next);
    u32 finish(u32 at, u32 k, u32 next_dev);
    bool memo_find(u32 key, u32* dev) const;
    void memo_add(u32 key, u32 dev);
    void retire();
    void refuse(char const* why);

    EhciEnv* env_{nullptr};
    u32 op_{0};
    u32* list_{nullptr};
    u32 list_dev_{0};
    u32 guest_base_{0};
    bool prog_list_{false};  // HCCPARAMS: the frame list size is programmable
    u32 gen_{0};
    u32 nodes_{0};
    u32 left_at_[EhciSchedule::kMaxQh]{};  // FRINDEX when each retiring QH left the tree
    u64 retiring_{0};
    u32 glist_[kFrameListEntries]{};
    u32 last_[kFrameListEntries]{};  // the guest's list as the last full translation saw it
    u32 last_n_{0};
    u32 roots_[kMaxRoots]{}, root_dev_[kMaxRoots]{};  // its distinct entries and their translations
    u32 nroots_{0};
    bool roots_ok_{false};
    u32 chain_[kMaxChain]{};
    Qh copies_[kMaxChain]{};
    Memo memo_[kMemoSize]{};
    EhciSchedule pool_{};
    EhciPeriodicCounters counters_{};
};

}  // namespace tv::usb
