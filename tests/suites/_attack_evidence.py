"""The host-side evidence of the attack suite (tests/suites/attacks.py, and the Bochs suites that
reuse it): what only the host sees after a boot of tvattack. Canary bytes in what the guest
printed, on the scratch disks, on the wires and sticks; the monitor's power-off canary check
mapped back to the attack that aimed at each slice; the refusal lines the monitor must have
logged where the guest cannot tell a refusal from a device failure; the gates (the monitor
survived, its canaries intact). Each check adds to a Judge (attacks.py) by attack name.
"""
import os
import re

# The fatal boot's control frame (iommu-nic-tx-from-monitor): 14 + 777 bytes of 0x77.
IOMMU_CONTROL = (791, b"\x77")
IOMMU_ATTACKS = ["iommu-registers", "iommu-nic-tx-from-monitor", "iommu-nic-rx-into-monitor"]
RACE_MARK, RACE_PLAIN = b"TVRACE", range(704, 768)
# The fatal boot's denied stick (xhci-hidden-port): its sector 0 holds this marker, which must
# never reach the guest (tests/attack/tva_xhci.c, STICK_MARK).
STICK_MARK = b"TV-DENIED-STICK-7c41"
# Which attack aims at which 512-byte slice of the canaries: 0-7 the code page, 8-15 the page
# canary, 16-23 the heap canary, 24 the data canary (tests/attack/tva.h, slice()).
SLICES = {16: "ehci-qtd-buffer-into-monitor,ehci-qh-link-into-monitor,ehci-cbw-length-over-buffers",
          17: "ehci-qtd-rewritten-after-shadow,ehci-data-stage-at-monitor",
          18: "cpu-largepage-alias", 19: "cpu-largepage-alias",
          24: "ahci-read-log-into-monitor", 0: "cpu-write-alias", 1: "cpu-rep-stos", 2: "cpu-movs-hook-to-monitor", 3: "ide-dma-read-into-monitor",
          4: "cpu-exec", 5: "ide-toctou-read", 6: "ahci-dma-read-into-monitor", 7: "ahci-toctou",
          8: "e1000-rx-into-monitor", 9: "e1000-rx-into-monitor", 10: "e1000-rx-into-monitor",
          11: "e1000-rx-into-monitor", 12: "ahci-table-in-monitor", 13: "ahci-clb-in-monitor",
          14: "e1000-tx-ring-in-monitor", 15: "ide-prd-table-in-monitor",
          20: "xhci-data-stage-into-monitor", 21: "xhci-trb-rewritten-after-doorbell", 22: "xhci-dcbaa-at-monitor",
          23: "xhci-dcbaa-at-monitor"}
# Which attack writes which LBAs (64 sectors each) of the scratch disks.
IDE_LBAS = {128: "ide-dma-write-from-monitor", 192: "ide-prd-table-in-monitor", 256: "ide-toctou-read",
            320: "ide-toctou-write", 384: "ide-prd-zero-length", 448: "ide-prd-wrap", 512: "ide-prd-oversized",
            576: "ide-prd-no-eot", 640: "ide-wide-out-1f6"}
AHCI_LBAS = {128: "ahci-dma-write-from-monitor", 192: "ahci-table-in-monitor", 256: "ahci-toctou",
             320: "ahci-prd-zero-length", 384: "ahci-prd-oversized-table", 448: "ahci-prd-wrap"}
# The refusal each attack must leave in the monitor's log (where the guest sees only an error,
# and a device that fails the command anyway would hide an open hole): attack -> pattern.
REFUSALS = {
    "ehci-qtd-buffer-into-monitor": r"ehci \S+: refused async schedule: qTD buffer outside guest memory",
    "ehci-qh-link-into-monitor": r"ehci \S+: refused async schedule: queue head outside guest memory",
    "ehci-qh-loop": r"ehci \S+: refused async schedule: more queue heads than the shadow holds",
    "ehci-qtd-oversized": r"ehci \S+: refused async schedule: qTD of more than 20 KiB",
    "ahci-read-log-into-monitor": r"ahci: port 1 slot \d+: refused READ LOG EXT \(0x2f\): PRD points outside guest RAM",
    "ahci-read-log-huge-count": r"ahci: port 1 slot \d+: refused READ LOG EXT \(0x2f\): PRDT shorter than the command",
    "xhci-hidden-port": r"a denied device's port is shown disconnected to the guest",
    "ehci-cbw-length-over-buffers": r"ehci \S+: refused mass-storage command: READ\(10\) \(sense 05/24/00\)",
}
# The safe boot's enrolled stick on usb-ehci (tests/attack/tva_ehci_storage.c): every sector the
# guest writes to it holds this marker, which must reach the stick's image only sealed.
EHCI_STICK_PLAIN = b"TVEHCIPLAIN0"
EHCI_STICK_ATTACKS = ["ehci-stick-write-plaintext", "ehci-cbw-rewritten-after-copy", "ehci-data-stage-at-monitor",
                      "ehci-cbw-length-over-buffers"]
WIRE = ["e1000-tx-from-monitor", "e1000-tx-toctou", "e1000-tx-ring-in-monitor", "e1000-tx-malformed"]


def needles(unit_hex):
    """The random part of the canary in 8-byte pieces, raw and as hex text."""
    raw = bytes.fromhex(unit_hex)[8:]
    pieces = [raw[i:i + 8] for i in range(0, len(raw), 8)]
    return pieces + [p.hex().encode() for p in pieces]


def find_all(data, pats):
    hits = set()
    for p in pats:
        i = data.find(p)
        while i >= 0:
            hits.add(i)
            i = data.find(p, i + 1)
    return sorted(hits)


def pcap_frames(dump):
    out, off = [], 24
    while off + 16 <= len(dump):
        incl = int.from_bytes(dump[off + 8:off + 12], "little")
        out.append(dump[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def sections(console):
    """Each attack's console text, from its ATTACK line to the next one."""
    out, name, cur = {}, None, []
    for line in console.splitlines():
        m = re.match(r"^ATTACK (\S+)\s*$", line.strip())
        if m:
            if name:
                out[name] = "\n".join(cur)
            name, cur = m.group(1), []
        elif name:
            cur.append(line)
    if name:
        out[name] = "\n".join(cur)
    return out


def check_evidence(judge, run, unit_hex, console, mon, names):
    pats = needles(unit_hex)
    secs = sections(console)
    for n, text in secs.items():
        if find_all(text.encode(), pats):
            judge.host(n, "canary bytes in what the guest read (console loot)")
    for kind, lbas in (("ide", IDE_LBAS), ("ahci", AHCI_LBAS)):
        path = run.disks.get(kind)
        if not path:
            continue
        with open(path, "rb") as f:
            data = f.read()
        for lba in sorted({off // 512 for off in find_all(data, pats)}):
            who = [a for start, a in lbas.items() if start <= lba < start + 64]
            for a in who or [n for n in names if n.startswith(kind)]:
                judge.host(a, "canary bytes on the %s disk at LBA %d" % (kind, lba))
    check_ehci_stick(judge, run, pats, names)
    wire = os.path.join(run.work, "wire.pcap")
    if os.path.exists(wire):
        with open(wire, "rb") as f:
            dump = f.read()
        # Each attack's frames by their length: 14 + 1024 (from-monitor), 14 + 1000 (toctou), any
        # other length from the ring and malformed attacks.
        for i, frame in enumerate(pcap_frames(dump)):
            if not find_all(frame, pats):
                continue
            who = {1038: WIRE[:1], 1014: WIRE[1:2], 1013: ["e1000-tx-plain"]}.get(len(frame), WIRE[2:])
            for a in who:
                judge.host(a, "canary bytes on the wire (frame %d, %d bytes)" % (i + 1, len(frame)))
        # The frames the guest named (14-byte header, ethertype 88b5, then 999 x 0x55 or 1000 x 0x66):
        # the control must arrive intact (else the check itself is broken); the TOCTOU frame
        # holding anything else is not the monitor's bytes (caught above) but is noted.
        for name, size, fill in (("e1000-tx-plain", 1013, b"\x55"), ("e1000-tx-toctou", 1014, b"\x66")):
            if name not in names:
                continue
            frames = [f for f in pcap_frames(dump) if len(f) == size]
            if not frames:
                judge.host(name, "its frame never reached the wire")
            elif frames[-1][14:] != fill * (size - 14):
                why = "the frame on the wire is not the buffer named at TDT (it starts %s)" % frames[-1][:24].hex()
                if name == "e1000-tx-plain":
                    judge.host(name, why)
                else:
                    judge.notes.setdefault(name, []).append("note: " + why)
    wire2 = os.path.join(run.work, "wire2.pcap")
    if os.path.exists(wire2) and "dma-unmediated-nic" in names:
        with open(wire2, "rb") as f:
            frames = [i + 1 for i, fr in enumerate(pcap_frames(f.read())) if find_all(fr, pats)]
        if frames:
            judge.host("dma-unmediated-nic", "canary bytes on the second NIC's wire (frames %s)" % frames)
    for what, addr in re.findall(r"canary: CHANGED in (\w+) at (0x[0-9a-f]+)", mon):
        addr = int(addr, 16)
        base = run.places.get(what)
        idx = None
        if what == "code" and base is not None:
            idx = (addr - base) // 512
        elif what == "page" and base is not None:
            idx = 8 + (addr - base) // 512
        elif what == "heap" and base is not None:
            idx = 16 + (addr - (base + 63) // 64 * 64) // 512  # 64-byte aligned slices (tva_lib.c)
        elif what == "data" and base is not None:
            idx = 24 + (addr - base) // 512
        who = SLICES.get(idx)
        if who:
            for a in who.split(","):
                judge.host(a, "the monitor's %s canary changed at %#x (power-off check)" % (what, addr))
        else:
            judge.host("canary-intact", "the monitor's %s canary changed at %#x" % (what, addr))


def check_ehci_stick(judge, run, pats, names):
    """The encrypted EHCI stick's image: the guest's marker there is plaintext that passed the
    monitor unsealed; canary bytes there are the monitor's memory written out by the device."""
    path = run.disks.get("ehci-stick")
    ran = [n for n in EHCI_STICK_ATTACKS if n in names]
    if not path or not ran:
        return
    with open(path, "rb") as f:
        data = f.read()
    plain = sorted({off // 512 for off in find_all(data, [EHCI_STICK_PLAIN])})
    if plain:
        for n in ran:
            judge.host(n, "the guest's plaintext on the encrypted EHCI stick at LBA %s" % plain[:8])
    leaked = sorted({off // 512 for off in find_all(data, pats)})
    if leaked:
        for n in ran:
            judge.host(n, "canary bytes on the EHCI stick at LBA %s" % leaked[:8])


def check_refusals(judge, mon, names):
    """Each attack in REFUSALS that ran (not skipped) must have its refusal in the monitor's log."""
    for n, pattern in REFUSALS.items():
        if n in names and judge.verdicts.get(n, ("",))[0] != "SKIPPED" and not re.search(pattern, mon):
            judge.host(n, "no refusal in the monitor's log (want /%s/)" % pattern)


def check_stick(judge, console, names):
    """xhci-hidden-port: the denied stick's marker never in what the guest printed."""
    if "xhci-hidden-port" in names and STICK_MARK.decode() in sections(console).get("xhci-hidden-port", ""):
        judge.host("xhci-hidden-port", "the denied stick's marker in the guest's output")


def judge_gates(judge, mon, count):
    """The gates after a boot of attacks: monitor-survived (it powered off normally) and
    canary-intact (its power-off check of every canary place)."""
    alive = "power-off:" in mon
    if not alive:
        judge.host("monitor-survived", "no power-off in the monitor log after the attacks (tail %r)" % mon[-300:])
    judge.verdicts["monitor-survived"] = ("DEFENDED", "the guest powered off normally after %d attacks" % count)
    if "canary: intact in all" in mon:
        m = re.search(r"canary: intact in all (\d+) checked places", mon)
        judge.verdicts["canary-intact"] = ("DEFENDED", "the monitor's power-off check: %s places intact" % m.group(1))
    elif "canary: CHANGED" not in mon:
        judge.host("canary-intact", "no power-off canary check in the monitor log")
    else:
        judge.verdicts["canary-intact"] = ("BREACH", "see the attacks whose slices changed")


def check_iommu_evidence(judge, run, unit_hex, mon, names):
    """The fatal boot's IOMMU attacks: the unit was on, no canary bytes on the unmediated e1000's
    wire, its control frame there intact, and the monitor's canaries intact at power-off."""
    picked = [n for n in IOMMU_ATTACKS if n in names]
    if not picked:
        return
    if not re.search(r"iommu: (AMD-Vi|VT-d) translation on", mon):
        for n in picked:
            judge.host(n, "the monitor did not turn the IOMMU on")
    wire = os.path.join(run.work, "wire-fatal.pcap")
    frames = []
    if os.path.exists(wire):
        with open(wire, "rb") as f:
            frames = pcap_frames(f.read())
    if "iommu-nic-tx-from-monitor" in names:
        leaked = [i + 1 for i, fr in enumerate(frames) if find_all(fr, needles(unit_hex))]
        if leaked:
            judge.host("iommu-nic-tx-from-monitor", "canary bytes on the unmediated e1000's wire (frames %s)" % leaked)
        size, fill = IOMMU_CONTROL
        if not any(len(fr) == size and fr[14:] == fill * (size - 14) for fr in frames):
            judge.host("iommu-nic-tx-from-monitor", "the control frame from guest memory never reached the wire: "
                                                    "the guarded domain does not map the guest")
    if "iommu-nic-rx-into-monitor" in names:
        changed = re.findall(r"canary: CHANGED in \w+ at 0x[0-9a-f]+", mon)
        if changed:
            judge.host("iommu-nic-rx-into-monitor", "the monitor's power-off check: %s" % "; ".join(changed[:3]))
        elif "canary: intact in all" not in mon:
            judge.host("iommu-nic-rx-into-monitor", "no power-off canary check in the monitor log")


def check_race_evidence(judge, run, names):
    """ide-taskfile-race: the guest's clear marker must be on the IDE disk only where it aimed
    (LBA 704-767, unencrypted), never in the encrypted range."""
    if "ide-taskfile-race" not in names:
        return
    with open(run.disks["ide"], "rb") as f:
        data = f.read()
    lbas = sorted({off // 512 for off in find_all(data, [RACE_MARK])})
    wrong = [l for l in lbas if l not in RACE_PLAIN]
    if [l for l in wrong if l >= 8192]:
        judge.host("ide-taskfile-race", "the clear marker reached the encrypted range at LBA %s: a command ran on "
                                        "registers the monitor did not check" % [l for l in wrong if l >= 8192][:8])
    elif not [l for l in lbas if l in RACE_PLAIN]:
        judge.host("ide-taskfile-race", "no marker landed at LBA 704-767: the race tested nothing")
    else:
        judge.notes.setdefault("ide-taskfile-race", []).append(
            "the disk holds the marker at %d LBAs, none encrypted-range%s" % (
                len(lbas), " (also at %s, latched from mixed bytes)" % wrong[:4] if wrong else ""))
