"""The attack suite under Intel VT-x: tvattack (tests/attack/) inside bochs-haswell's Linux boot.

Issue 12 asks the attacks that make sense on VT-x to run under Bochs as well. A Linux boot under
Bochs costs 6-15 minutes, so the attacks share bochs-haswell's boot instead of a boot of their
own (tests/suites/bochs.py, Run.attacks): the guest runs its usual checks and, before the
monitor checks that power it off, tvattack. What the boot gets for it:

- a scratch disk as the primary channel's slave (ata0-slave, serial BXHD00012; the guest's own
  disk moves to ata0-master, still BIOS drive 0x80, and the GRUB CD to ata1-master), aimed at
  by tvattack with `ide_dev=0xf0`;
- Bochs' e1000 (82540EM) on a UDP socket (`ethmod=socket`: Bochs receives on PORT and sends to
  PORT+1), whose frames this module writes to wire.pcap and into which it feeds broadcast
  frames for the receive attacks, and a thinvisor.conf with [network], so the e1000 mediator
  owns the device;
- COM1 on a TCP socket (`mode=socket-client`), so this module can type the canary places into
  the guest (from the monitor's log on COM2), as tests/suites/attacks.py does under QEMU.

The attacks are judged with attacks.py's own code (Judge, check_evidence, judge_gates: canary
bytes in the console, on the scratch disk and on the wire, the monitor's power-off canary check,
a monitor that stopped). One line per attack: `PASS|FAIL|SKIP attack-vtx/NAME: ...`, plus the
gates attack-vtx/monitor-survived and attack-vtx/canary-intact.

Run under VT-x (VTX_SAFE, then VTX_FATAL at the end of the same boot: a defended fatal attack
leaves the guest running, an open one stops the machine and fails the gates): every CPU-access
class (aliases, string instructions, the emulator's page walk with MOVS into a hooked e1000
page, execution), the wide port accesses (0x1F6, 0xCFA/0xCFB), BAR moves over the monitor and
through CF8/CFC, IDE bus-master DMA at the monitor (PRDs, the PRD table, TOCTOU, malformed
tables), e1000 TX and RX DMA at the monitor, the MSR policy (MTRRs, Intel's feature control and
microcode MSRs, the APIC base, reserved EFER bits), hypercalls from CPL 3 (VMCALL). NOT_RUN
says why each of the others does not run here.
"""
import os
import re
import socket
import struct
import subprocess
import threading
import time
import types

import attacks as atk

PREFIX = "attack-vtx"
IDE_DEV = 0xf0  # the scratch disk is the slave of the primary channel
SCRATCH_SECTORS = 34 * 16 * 63  # a geometry Bochs takes without asking (about 17 MB)
KO_OFFSET = 4 << 20  # the large-page module on the scratch disk (tests/attack/tva_cpu.c, TVLPA_DISK_OFF)
MON_MAC = "52:54:00:7a:7a:01"
NIC_MAC = "52:54:00:12:34:56"
CONF = """[network]
dhcp = no
mac = %s
address = 10.0.2.200
netmask = 255.255.255.0
gateway = 10.0.2.2
""" % MON_MAC
GRUB = """set timeout=0
set default=0
menuentry "thinvisor" {
    multiboot /boot/thinvisor.elf @CMDLINE@
    module /boot/thinvisor.conf /boot/thinvisor.conf
    boot
}
"""

VTX_SAFE = ["cpu-read-canaries", "cpu-read-kernel-copy", "cpu-read-region-sample", "cpu-write-alias", "cpu-rep-stos",
            "cpu-rep-movs-read", "cpu-exec", "cpu-movs-monitor-to-hook", "cpu-largepage-alias",
            "pci-wide-cfb", "pci-bar-move-cf8", "pci-bar-over-monitor",
            "ide-dma-read-into-monitor", "ide-dma-write-from-monitor", "ide-prd-table-in-monitor", "ide-toctou-read",
            "ide-toctou-write", "ide-prd-zero-length", "ide-prd-wrap", "ide-prd-oversized", "ide-prd-no-eot",
            "ide-wide-out-1f6",
            "e1000-tx-from-monitor", "e1000-tx-plain", "e1000-tx-toctou", "e1000-tx-ring-in-monitor",
            "e1000-tx-malformed", "e1000-rx-into-monitor", "e1000-rx-copy-overrun",
            "msr-mtrr", "msr-intel-controls", "hypercall-user-log"]
VTX_FATAL = ["msr-apic-base", "efer-reserved"]
# The two RAM scans read all of guest RAM through /proc/kcore: in bochs-haswell the first took
# over 4 minutes and the second did not end within the run's 25 (load 12-15).
SCAN = ("reads all of guest RAM through /proc/kcore: more than 4 minutes under Bochs, past what make test can "
        "spend; the leak evidence here is the console, the disk, the wire and the canary check")
XHCI = "bochs-haswell has no xHCI (the mediator is tested on QEMU's qemu-xhci; Bochs' own is not)"
EHCI = "bochs-haswell has no USB controller (the EHCI mediator is tested on QEMU's usb-ehci)"
READ_LOG = ("not added to bochs-haswell's list: the attack needs a device that answers READ LOG EXT to move a page, "
            "and QEMU's aborts it (docs/security.md); the mediator's side is the same code under VT-x")
NOT_RUN = {
    "keyslot-scan": SCAN + "; that boot loads no keyslot file either",
    "ram-canary-scan": SCAN,
    "cpu-movs-hook-to-monitor": "needs the AHCI ABAR as the hooked source: Bochs 2.7 has no AHCI "
                                "(cpu-movs-monitor-to-hook covers the emulator's walk with the e1000)",
    "pci-ecam-bar-move": "Bochs' i440FX has no ECAM window (MMCONFIG)",
    "pci-bar-over-device": "needs a second hooked BAR (the AHCI ABAR): Bochs 2.7 has no AHCI",
    "ide-pio-4kn": "needs a 4096-byte-sector disk: Bochs 2.7's sect_size=4096 reports 512-byte sectors in IDENTIFY "
                   "(docs/security.md; host tests cover the PIO overflow)",
    "ide-taskfile-race": "needs a second guest CPU: bochs-haswell has one",
    "ahci-dma-read-into-monitor": "Bochs 2.7 has no AHCI", "ahci-dma-write-from-monitor": "Bochs 2.7 has no AHCI",
    "ahci-clb-in-monitor": "Bochs 2.7 has no AHCI", "ahci-table-in-monitor": "Bochs 2.7 has no AHCI",
    "ahci-toctou": "Bochs 2.7 has no AHCI", "ahci-prd-zero-length": "Bochs 2.7 has no AHCI",
    "ahci-prd-oversized-table": "Bochs 2.7 has no AHCI", "ahci-prd-wrap": "Bochs 2.7 has no AHCI",
    "dma-unmediated-nic": "needs a second e1000: Bochs 2.7 has one",
    "msr-amd-memory-map": "AMD MSRs (an Intel CPU raises #GP itself; msr-intel-controls is the VT-x counterpart)",
    "msr-hwcr-microcode": "AMD MSRs (msr-intel-controls tries Intel's microcode trigger)",
    "msr-svm-state": "SVM MSRs (VMX is hidden from the guest: bochs-haswell's cpuprobe checks)",
    "bios-services-write": "a real-mode attacker's job: bochs_rmattack's bios-e820-unreal (VT-x and AMD-V)",
    "init-ioapic-bsp": "an INIT to the only CPU ends the guest whatever the monitor does: a boot of its own "
                       "(under Bochs 6-15 minutes); VMX takes INIT as an exit unconditionally",
    "init-msi-ahci": "Bochs 2.7 has no AHCI (and the INIT boot above)",
    "iommu-registers": "Bochs 2.7 has no IOMMU (VT-d is driven under QEMU: iommu-vtd-q35, attacks.py --iommu)",
    "iommu-nic-tx-from-monitor": "Bochs 2.7 has no IOMMU", "iommu-nic-rx-into-monitor": "Bochs 2.7 has no IOMMU",
    "iommu-msi-init-by-dma": "Bochs 2.7 has no IOMMU (and the INIT boot above)",
    "xhci-data-stage-into-monitor": XHCI, "xhci-trb-rewritten-after-doorbell": XHCI, "xhci-link-loop": XHCI,
    "xhci-dcbaa-at-monitor": XHCI, "xhci-hidden-port": XHCI,
    "ehci-qtd-buffer-into-monitor": EHCI, "ehci-qh-link-into-monitor": EHCI, "ehci-qh-loop": EHCI,
    "ehci-qtd-oversized": EHCI, "ehci-qtd-rewritten-after-shadow": EHCI, "ehci-stick-write-plaintext": EHCI,
    "ehci-cbw-rewritten-after-copy": EHCI, "ehci-data-stage-at-monitor": EHCI, "ehci-cbw-length-over-buffers": EHCI,
    "ahci-read-log-into-monitor": "Bochs 2.7 has no AHCI", "ahci-read-log-huge-count": "Bochs 2.7 has no AHCI",
    "ahci-read-log-encrypted": "Bochs 2.7 has no AHCI",
    "ide-read-log-huge-count": READ_LOG, "ide-read-log-encrypted": READ_LOG,
}


def free_port_pair():
    """A UDP port P with P+1 free too: Bochs receives on P and sends to P+1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p >= 65535:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("0.0.0.0", p))
            return p
        except OSError:
            continue
    raise RuntimeError("no free UDP port pair")


class Com1(threading.Thread):
    """COM1: Bochs connects to our listening socket; everything it sends is appended to the
    console file (which bochs.py reads as usual), and we can type into it."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.conn, self.data = path, None, b""
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]

    def run(self):
        self.srv.settimeout(120)
        try:
            self.conn, _ = self.srv.accept()
        except OSError:
            return
        with open(self.path, "ab") as out:
            while True:
                try:
                    chunk = self.conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                self.data += chunk
                out.write(chunk)
                out.flush()

    def type(self, text):
        for ch in text.encode() + b"\r":  # one at a time: the UART holds one byte
            self.conn.sendall(bytes([ch]))
            time.sleep(0.02)

    def close(self):
        for s in (self.conn, self.srv):
            if s:
                try:
                    s.close()
                except OSError:
                    pass


class Wire(threading.Thread):
    """The e1000's wire: frames Bochs sends (to PORT+1) go to a pcap file; once the attacks
    start (feed()), broadcast frames go to PORT every 20 ms for the receive attacks
    (attacks.feed_frames). Not before: every frame costs the monitor exits, and a boot under
    Bochs is long enough."""

    def __init__(self, pcap):
        super().__init__(daemon=True)
        self.port = free_port_pair()
        self.pcap = pcap
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", self.port + 1))
        self.rx.settimeout(0.5)
        self.stopping = threading.Event()
        self.feeder = threading.Thread(target=atk.feed_frames, args=(self.port, self.stopping), daemon=True)
        self.frames = 0

    def feed(self):
        self.feeder.start()

    def run(self):
        with open(self.pcap, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            while not self.stopping.is_set():
                try:
                    frame = self.rx.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                t = time.time()
                f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)) + frame)
                f.flush()
                self.frames += 1

    def close(self):
        self.stopping.set()
        self.rx.close()


class AttackRun:
    """What bochs-haswell's boot needs for the attacks, and their judgement afterwards."""

    def __init__(self, work):
        self.work = work
        self.scratch = os.path.join(work, "ide-scratch.img")
        with open(self.scratch, "wb") as f:
            f.truncate(SCRATCH_SECTORS * 512)
            ko = atk.build_module()
            if ko:  # cpu-largepage-alias's module, where tvattack looks without fw_cfg (tva_cpu.c)
                with open(ko, "rb") as m:
                    data = m.read()
                f.seek(KO_OFFSET)
                f.write(b"TVLPAKO1" + struct.pack("<Q", len(data)) + data)
        self.com1 = self.wire = None
        self.typed = False
        self.target_error = None
        self.unit = None
        self.places = {}

    def iso(self, monitor, cmdline):
        """The GRUB CD with the monitor and thinvisor.conf ([network]) as a module."""
        root = os.path.join(self.work, "iso")
        os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
        subprocess.run(["cp", monitor, os.path.join(root, "boot", "thinvisor.elf")], check=True)
        with open(os.path.join(root, "boot", "thinvisor.conf"), "w") as f:
            f.write(CONF)
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(GRUB.replace("@CMDLINE@", cmdline))
        iso = os.path.join(self.work, "thinvisor-attack.iso")
        p = subprocess.run(["timeout", "120", "grub-mkrescue", "-d", "/usr/lib/grub/i386-pc", "-o", iso, root],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise RuntimeError("grub-mkrescue failed: %s" % p.stdout.strip()[-300:])
        return iso

    @staticmethod
    def script():
        """The guest's part, between guest-checks.sh and monitor-checks.sh (which powers off)."""
        return ("echo 1 > /proc/sys/kernel/printk\necho 'TV-ATTACK: ready'\nread -r T\n"
                "tvattack --targets \"$T\" --group safe --only %s\n"
                "tvattack --targets \"$T\" --group fatal --only %s\n"
                "echo 'TV-ATTACK: finished'\necho 4 > /proc/sys/kernel/printk\n"
                % (",".join(VTX_SAFE), ",".join(VTX_FATAL)))

    def start(self, com1_path):
        """Before Bochs starts: the COM1 listener and the wire. Returns the bochsrc fields."""
        self.com1 = Com1(com1_path)
        self.com1.start()
        self.wire = Wire(os.path.join(self.work, "wire.pcap"))
        self.wire.start()
        return {"com1": "mode=socket-client, dev=localhost:%d" % self.com1.port,
                "nic": "pci: enabled=1, chipset=i440fx, slot1=e1000\n"
                       "e1000: enabled=1, mac=%s, ethmod=socket, ethdev=%d" % (NIC_MAC, self.wire.port)}

    def poll(self, monitor_log):
        """Called while Bochs runs: types the canary places once the guest is ready."""
        if self.typed or not self.com1 or b"TV-ATTACK: ready" not in self.com1.data:
            return
        self.typed = True
        try:
            kind, self.unit, targets, self.places = atk.targets_from_log(monitor_log)
            if kind != "rdrand":
                self.target_error = "the canary is not random (%s)" % kind
            self.com1.type(targets + " ide_dev=%#x" % IDE_DEV)
            self.wire.feed()
        except (RuntimeError, OSError) as e:
            self.target_error = str(e)
            self.com1.type("none")  # tvattack refuses to run without targets; the checks go on

    def close(self):
        for x in (self.com1, self.wire):
            if x:
                x.close()

    def judge(self, console, monitor):
        """Prints the attack lines; returns the number of failures."""
        names = VTX_SAFE + VTX_FATAL
        gates = ["monitor-survived", "canary-intact"]
        judge = atk.Judge()
        console = re.sub(r"\[\s*\d+\.\d+\] [^\n]*\n", "", console.replace("\r", ""))
        if not self.typed or self.target_error or not self.unit:
            why = self.target_error or "the guest never printed 'TV-ATTACK: ready'"
            for n in names + gates:
                judge.host(n, "the attacks did not run: %s" % why)
        else:
            judge.guest(console, names, "bochs-haswell", monitor)
            run = types.SimpleNamespace(work=self.work, disks={"ide": self.scratch}, places=self.places)
            atk.check_evidence(judge, run, self.unit, console, monitor, names)
            atk.judge_gates(judge, monitor, len(names))
        for n, why in NOT_RUN.items():
            print("SKIP %s/%s: not run under VT-x: %s" % (PREFIX, n, why), flush=True)
        return judge.report(names + gates, PREFIX)
