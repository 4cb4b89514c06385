"""QEMU test scenarios for thinvisor: what to boot and how to judge the logs.

Each Scenario is one QEMU run (tests/qemu/qemu_run.py) and counts as one test. Its check
function gets the output directory and result dict and returns a list of failure reasons
(empty = pass). To add a scenario, append to SCENARIOS (or to the list built in
all_scenarios()).

Logs: OUT/console.log is the guest's COM1 console, OUT/monitor.log is thinvisor's COM2 log.
Guest scripts (tests/qemu/guest/*.sh) run from the unmodified guest image via fw_cfg and
report with lines "TV-CHECK ok: NAME" / "TV-CHECK FAIL: NAME ...".
"""
import os
import re
from dataclasses import dataclass, field
from typing import Callable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GUEST_DIR = os.path.join(HERE, "guest")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
RUN_TIMEOUT = 240  # seconds per QEMU run; guest runs take about 10-40 s under TCG

GUEST_UP = "thinvisor-guest: up"


@dataclass
class Scenario:
    name: str
    check: Callable[[str, dict], List[str]]
    machine: str = "pc"
    cpu: str = "max"
    mem: str = "512M"
    monitor: Optional[str] = None  # path of the monitor ELF, or None to boot the disk bare
    append: Optional[str] = None  # monitor command line
    script: Optional[str] = None  # guest script (fw_cfg)
    timeout: float = RUN_TIMEOUT
    stop_on: Optional[str] = None  # regex: kill QEMU as soon as it appears in a log
    settle: float = 0  # with stop_on: seconds QEMU keeps running after the match
    disk: str = DISK
    extra: List[str] = field(default_factory=list)  # more QEMU arguments


def read_log(out, name):
    try:
        with open(os.path.join(out, name), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def run_problems(result, expect_exit=True):
    """Reasons a run did not end by itself cleanly."""
    if result.get("error"):
        return [result["error"]]
    if result.get("timed_out"):
        return ["timed out after %gs" % result.get("timeout", 0)]
    if result.get("killed_by"):
        return ["QEMU was killed from outside the test (%s)" % result["killed_by"]]
    if expect_exit and result.get("exit_code") != 0:
        return ["QEMU exited with status %s" % result.get("exit_code")]
    return []


def marker_problems(console, required):
    problems = ["missing '%s'" % m for m in required if m not in console]
    for line in console.splitlines():
        if "TV-CHECK FAIL" in line:
            problems.append(line.strip()[:200])
    return problems


def guest_not_up_hint(console, problems, monlog=None):
    if problems and GUEST_UP not in console:
        problems.append("the guest never printed '%s'" % GUEST_UP)
        if monlog is not None:
            tail = [l.strip() for l in monlog.splitlines() if l.strip()][-2:]
            problems.append("monitor.log ends: %s" % (" | ".join(tail)[:300] or "(empty)"))
    return problems


# --- bare boot: the image alone, no monitor ----------------------------------------------

def check_bare(out, result):
    problems = run_problems(result)
    if result.get("error"):
        return problems
    console = read_log(out, "console.log")
    problems += marker_problems(console, ["TV-CHECK ok: bare", "thinvisor: not present"])
    return guest_not_up_hint(console, problems)


# --- the monitor matrix --------------------------------------------------------------------

RANGE_RE = re.compile(r"^TV-RANGE (0x[0-9a-fA-F]+) (0x[0-9a-fA-F]+)\s*$", re.M)
REGION_RE = re.compile(r"monitor region 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)")
MONITOR_MARKERS = ["TV-CHECK ok: iomem", "TV-CHECK ok: memprobe", "TV-CHECK ok: fill",
                   "TV-CHECK ok: ctl", "TV-CHECK ok: hidden-access-counted",
                   "TV-CHECK ok: cpuid-no-svm", "TV-CHECK ok: efer-svme-hidden",
                   "TV-CHECK ok: efer-svme-locked", "TV-CHECK ok: vm-cr-disabled",
                   "TV-CHECK ok: vm-cr-locked", "TV-CHECK ok: stray-hypercall-ud",
                   "TV-CHECK ok: hypercall-user-log-refused", "TV-CHECK ok: hypercall-user-counters",
                   "TV-CHECK ok: hypercall-port-log", "TV-CHECK ok: hypercall-port-needs-ioperm"]
# cpuprobe: each SVM instruction raises #UD in user mode, as on a CPU without SVM.
MONITOR_MARKERS += ["TV-CHECK ok: %s-ud" % i for i in ("vmrun", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga")]
# cpuprobe: the MSR policy refuses writes QEMU itself would take (the bitmaps are default-deny).
MONITOR_MARKERS += ["TV-CHECK ok: msr-apic-base-fixed", "TV-CHECK ok: msr-mtrr-wc-refused",
                    "TV-CHECK ok: msr-xd-disable-refused"]


UNBIDDEN_RE = re.compile(r"svm: the guest got vector .* that the monitor did not hand over.*")


def unbidden_problems(monlog):
    """An interrupt the CPU gave the guest behind the monitor's back (QEMU 7.2's second
    delivery of an EVENTINJ interrupt, docs/architecture.md): never, in any boot."""
    m = UNBIDDEN_RE.search(monlog)
    return ["monitor.log: %s" % m.group(0)] if m else []


def check_monitor(out, result):
    problems = run_problems(result)
    if result.get("error"):
        return problems
    console = read_log(out, "console.log")
    monlog = read_log(out, "monitor.log")
    problems += marker_problems(console, MONITOR_MARKERS)
    if "power-off" not in monlog:
        problems.append("monitor.log has no 'power-off' line")
    problems += unbidden_problems(monlog)
    m = RANGE_RE.search(console)
    if not m:
        problems.append("the guest reported no TV-RANGE")
    else:
        base, size = int(m.group(1), 16), int(m.group(2), 16)
        want = "monitor region 0x%x-0x%x" % (base, base + size)
        regions = [(int(a, 16), int(b, 16)) for a, b in REGION_RE.findall(monlog)]
        if (base, base + size) not in regions:
            problems.append("monitor.log lacks '%s' (it has: %s)" % (
                want, ", ".join("0x%x-0x%x" % r for r in regions) or "no 'monitor region'"))
    return guest_not_up_hint(console, problems, monlog)


# --- guest reboot: logged by the monitor, then a real machine reset ----------------------

RESET_RE = re.compile(r"reset: guest (pulsed the reset line|requested a reset)")


def check_reboot(out, result):
    problems = run_problems(result)
    if result.get("error"):
        return problems
    console = read_log(out, "console.log")
    monlog = read_log(out, "monitor.log")
    problems += marker_problems(console, ["TV-CHECK ok: rebooting"])
    if not RESET_RE.search(monlog):
        problems.append("monitor.log does not record the guest's reset request")
    if "reset: exit counts" not in monlog:
        problems.append("monitor.log has no exit counts at reset")
    return guest_not_up_hint(console, problems, monlog)


# --- runs that must end in the monitor's halt -------------------------------------------

# Seconds a halted machine is watched after its last line. A monitor that went on instead
# would boot the guest: the real-mode stub and syslinux write to COM1 within a few seconds,
# the monitor logs on COM2 before that.
HALT_SETTLE = 15
HALT_TIMEOUT = 30 + HALT_SETTLE
REFUSED_LINE = "thinvisor: the guest is NOT booted (it would run unprotected)."
HALTED_LINE = "thinvisor: halted"


def halted_problems(out, result, last_line):
    """The monitor must print last_line (a timeout is a failure), then stay silent on both
    serial ports while the machine keeps running for HALT_SETTLE seconds, and the guest must
    never come up."""
    if result.get("error"):
        return [result["error"]]
    if result.get("killed_by"):
        return ["QEMU was killed from outside the test (%s)" % result["killed_by"]]
    console = read_log(out, "console.log")
    monlog = read_log(out, "monitor.log")
    problems = []
    if not result.get("stopped_on_pattern"):
        if result.get("timed_out"):
            problems.append("timed out after %gs without '%s'" % (result.get("timeout", 0), last_line))
        else:
            problems.append("QEMU exited (status %s) without '%s'" % (result.get("exit_code"), last_line))
    elif result.get("exited_while_settling"):
        problems.append("QEMU exited by itself %.1fs after '%s' (status %s): the machine did not "
                        "stay halted" % (result.get("settled_seconds", 0), last_line, result.get("exit_code")))
    elif result.get("timed_out"):
        problems.append("timed out while watching the halted machine")
    elif result.get("settled_seconds", 0) < HALT_SETTLE:
        problems.append("watched the halted machine for only %.1fs" % result.get("settled_seconds", 0))
    for name, text in (("console.log", console), ("monitor.log", monlog)):
        at = text.find(last_line)
        if at < 0:
            problems.append("%s lacks '%s'" % (name, last_line))
            continue
        rest = text[at + len(last_line):].strip()
        if rest:
            problems.append("%s goes on after '%s': %r" % (name, last_line, rest[:120]))
    if GUEST_UP in console:
        problems.append("the guest booted (%s)" % GUEST_UP)
    return problems


# --- the monitor's own failures are reported with reason and registers ------------------

def check_panic(kind):
    def check(out, result):
        problems = halted_problems(out, result, HALTED_LINE)
        if result.get("error"):
            return problems
        console = read_log(out, "console.log")
        monlog = read_log(out, "monitor.log")
        want = {"panic": "thinvisor PANIC: selftest: deliberate panic",
                "fault": "thinvisor PANIC: monitor exception #UD invalid opcode"}[kind]
        for name, text in (("console.log", console), ("monitor.log", monlog)):
            if want not in text:
                problems.append("%s lacks '%s'" % (name, want))
            if not re.search(r"rsp=[0-9a-f]{16}", text) or "cr3=" not in text:
                problems.append("%s shows no register dump" % name)
        if kind == "fault" and "rip=ffffffff8" not in monlog:
            problems.append("the exception dump has no monitor rip")
        return problems
    return check


# --- thinvisor.conf: loaded when valid, the boot refused with a line number when not -------

CONFIG_DIR = os.path.join(HERE, "config")


def check_config_good(out, result):
    problems = check_monitor(out, result)
    if "config: thinvisor.conf loaded" not in read_log(out, "monitor.log"):
        problems.append("monitor.log does not say the config was loaded")
    return problems


def check_config_bad(out, result):
    problems = halted_problems(out, result, REFUSED_LINE)
    if result.get("error"):
        return problems
    console = read_log(out, "console.log")
    for want in ("thinvisor.conf line 4: unknown key 'windw' in section [aoe]",
                 "thinvisor: refusing to start: thinvisor.conf is invalid"):
        if want not in console:
            problems.append("console lacks '%s'" % want)
    return problems


# --- no nested paging: the monitor must refuse and halt --------------------------------------

NO_NPT_REFUSAL = ("thinvisor: refusing to start: this CPU has AMD-V but no nested paging (NPT), "
                  "which thinvisor needs to protect its memory.")


def check_no_npt(out, result):
    problems = halted_problems(out, result, REFUSED_LINE)
    if result.get("error"):
        return problems
    for name in ("console.log", "monitor.log"):
        if NO_NPT_REFUSAL not in read_log(out, name):
            problems.append("%s lacks the refusal '%s'" % (name, NO_NPT_REFUSAL))
    return problems

# --- MMIO interposition: a real driver with all its register accesses emulated --------------

MMIO_HOOK_RE = re.compile(r"mmio: hook (\S+) \((0x[0-9a-f]+)-(0x[0-9a-f]+)\): (\d+) exits, (\d+) reads, (\d+) writes")
MMIO_SUMMARY_RE = re.compile(r"mmio: (\d+) instructions emulated, (\d+) re-executed, (\d+) emulation failures")
MMIO_MIN_EXITS = 1000


def mmio_log_problems(monlog, hook):
    """The hook must have caused MMIO_MIN_EXITS exits or more, and nothing may have failed."""
    problems = []
    exits = {m.group(1): int(m.group(4)) for m in MMIO_HOOK_RE.finditer(monlog)}
    if hook not in exits:
        problems.append("monitor.log has no exit count for MMIO hook %s" % hook)
    elif exits[hook] < MMIO_MIN_EXITS:
        problems.append("MMIO hook %s caused only %d exits (want %d or more)"
                        % (hook, exits[hook], MMIO_MIN_EXITS))
    m = MMIO_SUMMARY_RE.search(monlog)
    if not m:
        problems.append("monitor.log has no MMIO emulation summary")
    elif int(m.group(3)) != 0:
        problems.append("%s MMIO emulation failures" % m.group(3))
    for line in monlog.splitlines():
        if "cannot emulate" in line:
            problems.append(line.strip()[:200])
    return problems


def file_md5(path):
    import hashlib
    try:
        with open(path, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()
    except FileNotFoundError:
        return None


def check_mmio_ahci(out, result):
    problems = run_problems(result)
    if result.get("error"):
        return problems
    console = read_log(out, "console.log")
    monlog = read_log(out, "monitor.log")
    problems += marker_problems(console, ["TV-CHECK ok: mount", "TV-CHECK ok: reread",
                                          "TV-CHECK ok: bar-moved", "TV-CHECK ok: bar-back",
                                          "TV-CHECK ok: bar-over-monitor-refused", "TV-CHECK ok: ecam-hooked-read"])
    want = file_md5(os.path.join(ROOT, "build", "guest", "vmlinuz"))
    got = re.search(r"^TV-MD5 vmlinuz ([0-9a-f]{32})", console, re.M)
    if not got or got.group(1) != want:
        problems.append("the guest read vmlinuz as %s, the host has %s"
                        % (got.group(1) if got else "nothing", want))
    problems += mmio_log_problems(monlog, "ahci-abar")
    if len(re.findall(r"mmio: hook ahci-abar follows its device", monlog)) != 2:
        problems.append("the AHCI hook did not follow the BAR there and back")
    if "skipped: no monitor range" not in console and not re.search(
            r"BAR at 0x24: move to 0x[0-9a-f]+ refused \(it would cover monitor memory\)", monlog):
        problems.append("no refusal logged for the ABAR moved over the monitor's memory")
    if not re.search(r"mmio-test: \S+ register 0xff0: write of 0x5ec0de42 \(4 bytes\) reached its hook", monlog):
        problems.append("the guest's write through ECAM did not reach the configuration hook")
    return guest_not_up_hint(console, problems, monlog)


def check_mmio_e1000(out, result):
    problems = run_problems(result)
    if result.get("error"):
        return problems
    console = read_log(out, "console.log")
    monlog = read_log(out, "monitor.log")
    problems += marker_problems(console, ["TV-CHECK ok: carrier", "TV-CHECK ok: dhcp",
                                          "TV-CHECK ok: ping"])
    problems += mmio_log_problems(monlog, "e1000-bar0")
    return guest_not_up_hint(console, problems, monlog)


# --- multiprocessor guests: the APs run under the monitor too --------------------------

SMP_CPU_RE = re.compile(r"smp: (\d+) of (\d+) processors under the monitor")
# What tests/qemu/guest/smp-checks.sh prints when every check passed (QEMU, UEFI and Bochs runs).
SMP_MARKERS = ["TV-CHECK ok: smp-nproc", "TV-CHECK ok: smp-parallel-sha256", "TV-CHECK ok: smp-guest-nmi"]


def smp_script(cpus, tail):
    """The SMP checks followed by another script's checks, as one guest script file."""
    out_dir = os.path.join(ROOT, "build", "run")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "smp%d-%s" % (cpus, os.path.basename(tail)))
    with open(path, "w") as f:
        f.write("TV_SMP_CPUS=%d\n" % cpus)
        for part in (os.path.join(GUEST_DIR, "smp-checks.sh"), tail):
            with open(part) as src:
                f.write(src.read())
    return path


def check_smp(cpus, base_check, markers):
    def check(out, result):
        problems = base_check(out, result)
        if result.get("error"):
            return problems
        console = read_log(out, "console.log")
        monlog = read_log(out, "monitor.log")
        problems += marker_problems(console, markers)
        m = SMP_CPU_RE.search(monlog)
        if not m or int(m.group(1)) != cpus:
            problems.append("monitor.log does not show %d processors under the monitor (%s)" % (
                cpus, m.group(0) if m else "no 'smp:' summary"))
        return problems
    return check


def smp_scenarios():
    s = []
    tail = os.path.join(GUEST_DIR, "monitor-checks.sh")
    markers = SMP_MARKERS
    for machine in ("pc", "q35"):
        for cpus in (2, 4):
            s.append(Scenario("smp%d-%s" % (cpus, machine), check_smp(cpus, check_monitor, markers),
                              machine=machine, cpu="max", mem="512M", monitor=MONITOR,
                              script=smp_script(cpus, tail), timeout=400,
                              extra=["-smp", str(cpus)]))
    s.append(Scenario("smp2-reboot-pc", check_smp(2, check_reboot, []), machine="pc", cpu="max",
                      mem="512M", monitor=MONITOR, timeout=400, extra=["-smp", "2"],
                      script=os.path.join(GUEST_DIR, "reboot-checks.sh")))
    return s


def mmio_scenarios():
    return [
        # Two CPUs: each BAR move flushes the other CPU's nested TLB to completion (NMI kick).
        # A PCIe root port with a hooked extended register: configuration through ECAM.
        Scenario("mmio-passthrough-ahci", check_mmio_ahci, machine="q35", cpu="max", mem="512M",
                 monitor=MONITOR, append="mmio_passthrough_test=ahci,ecam", timeout=240,
                 script=os.path.join(GUEST_DIR, "mmio-ahci.sh"),
                 extra=["-smp", "2", "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1"]),
        Scenario("mmio-passthrough-e1000", check_mmio_e1000, machine="q35", cpu="max", mem="512M",
                 monitor=MONITOR, append="mmio_passthrough_test=e1000", timeout=120,
                 script=os.path.join(GUEST_DIR, "mmio-e1000.sh"),
                 extra=["-netdev", "user,id=n0", "-device", "e1000,netdev=n0"]),
    ]


# --- VT-d: the monitor drives the IOMMU and hides it ---------------------------------------

IOMMU_LINES = ["iommu: the DMAR table is renamed TVDM", "iommu: VT-d translation on",
               "has no mediator and keeps bus mastering: the IOMMU fences its DMA", "MSI-X table (2 entries) in BAR1 guarded"]


# iommu-amdvi-q35: the same checks with amd-iommu, whose interrupt remapping the monitor turns on:
# the unmediated e1000's interrupts (a level-triggered IOAPIC line) and the AHCI disk's MSI reach
# the guest only through remapping entries built from its own programming (docs/iommu.md).
AMDVI_LINES = ["iommu: the IVRS table is renamed TVIV", "iommu: AMD-Vi translation on",
               "iommu: AMD-Vi interrupt remapping on for every requester ID",
               "has no mediator and keeps bus mastering: the IOMMU fences its DMA", "MSI-X table (2 entries) in BAR1 guarded"]


def check_iommu(out, result, lines=None):
    """The guest boots on q35 with intel-iommu; the monitor turned translation on, hid the DMAR
    table and the unit's registers, left the unmediated e1000 its bus mastering (DHCP and ping
    through it: its DMA reaches guest memory through the guarded domain), and refused an INIT
    written into the virtio-rng's MSI-X table."""
    problems = check_monitor(out, result)
    if result.get("error"):
        return problems
    monlog = read_log(out, "monitor.log")
    console = read_log(out, "console.log")
    problems += ["monitor.log lacks %r" % l for l in (lines or IOMMU_LINES) if l not in monlog]
    problems += marker_problems(console, IOMMU_MARKERS)
    if "guest MSI-X entry with INIT delivery refused" not in monlog:
        problems.append("monitor.log shows no MSI-X refusal")
    if "bus mastering refused" in monlog:
        problems.append("the bus-master policy gated a device although the IOMMU is on")
    if re.search(r"DMAR: (IOMMU enabled|Host address width)", console):
        problems.append("the guest found the DMAR table")
    return problems


IOMMU_MARKERS = ["TV-CHECK ok: msix-init-refused", "TV-CHECK ok: carrier", "TV-CHECK ok: dhcp", "TV-CHECK ok: ping"]


def iommu_script():
    """The MSI-X check, the unmediated e1000's network checks, then the monitor checks."""
    out_dir = os.path.join(ROOT, "build", "run")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "iommu-checks.sh")
    with open(path, "w") as f:
        for part in ("iommu-checks.sh", "mmio-e1000.sh", "monitor-checks.sh"):
            with open(os.path.join(GUEST_DIR, part)) as src:
                f.write(src.read() + "\n")
    return path


def iommu_scenarios():
    # intel-iommu first: QEMU wants it before the PCI devices it translates for.
    return [Scenario(name, check, machine="q35", cpu="max", mem="512M", monitor=MONITOR,
                     script=iommu_script(), timeout=400,
                     extra=["-device", unit, "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
                            # an unmediated MSI-X device (no driver in the guest): iommu-checks.sh writes its table
                            "-device", "virtio-rng-pci"])
            for name, unit, check in (("iommu-vtd-q35", "intel-iommu", check_iommu),
                                      ("iommu-amdvi-q35", "amd-iommu",
                                       lambda out, result: check_iommu(out, result, AMDVI_LINES)))]


def all_scenarios():
    bare_script = os.path.join(GUEST_DIR, "bare-checks.sh")
    monitor_script = os.path.join(GUEST_DIR, "monitor-checks.sh")
    s = []
    for machine in ("pc", "q35"):
        s.append(Scenario("bare-boot-%s" % machine, check_bare, machine=machine, cpu="max",
                          mem="512M", script=bare_script))
    for machine in ("pc", "q35"):
        for cpu in ("max", "EPYC"):
            for mem in ("512M", "3G"):
                s.append(Scenario("monitor-%s-%s-%s" % (machine, cpu, mem), check_monitor,
                                  machine=machine, cpu=cpu, mem=mem, monitor=MONITOR,
                                  script=monitor_script))
    reboot_script = os.path.join(GUEST_DIR, "reboot-checks.sh")
    for machine in ("pc", "q35"):
        s.append(Scenario("reboot-%s" % machine, check_reboot, machine=machine, cpu="max",
                          mem="512M", monitor=MONITOR, script=reboot_script))
    for kind in ("panic", "fault"):
        s.append(Scenario("panic-path-%s" % kind, check_panic(kind), machine="pc", cpu="max",
                          mem="512M", monitor=MONITOR, append="selftest=%s" % kind,
                          script=bare_script, timeout=HALT_TIMEOUT, stop_on=re.escape(HALTED_LINE),
                          settle=HALT_SETTLE))
    s.append(Scenario("config-valid", check_config_good, machine="q35", cpu="max", mem="512M",
                      monitor=MONITOR, script=monitor_script,
                      extra=["-initrd", os.path.join(CONFIG_DIR, "valid", "thinvisor.conf")]))
    s.append(Scenario("config-invalid", check_config_bad, machine="pc", cpu="max", mem="512M",
                      monitor=MONITOR, script=bare_script, timeout=HALT_TIMEOUT,
                      stop_on=re.escape(REFUSED_LINE), settle=HALT_SETTLE,
                      extra=["-initrd", os.path.join(CONFIG_DIR, "invalid", "thinvisor.conf")]))
    s.append(Scenario("no-npt", check_no_npt, machine="pc", cpu="qemu64,+svm", mem="512M",
                      monitor=MONITOR, script=bare_script, timeout=HALT_TIMEOUT,
                      stop_on=re.escape(REFUSED_LINE), settle=HALT_SETTLE))
    s += mmio_scenarios()
    s += iommu_scenarios()
    s += smp_scenarios()
    return s


SCENARIOS = all_scenarios()
